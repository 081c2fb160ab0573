-- Neovim's built-in LSP client starting `tdc lsp` for *.rhai files: the README's set-up in the
-- form Neovim 0.7 (Debian bookworm's) takes, without `vim.lsp.start`. For the test: once the
-- file opened has diagnostics, they are written as JSON to $TDC_NVIM_OUT and Neovim quits.
local tdc = os.getenv("TDC_BIN")
local out = os.getenv("TDC_NVIM_OUT")

vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
  pattern = "*.rhai",
  callback = function(args)
    local client = vim.lsp.start_client({
      name = "tdc",
      cmd = { tdc, "lsp" },
      root_dir = vim.fn.fnamemodify(args.file, ":p:h"),
    })
    vim.lsp.buf_attach_client(args.buf, client)
  end,
})

vim.api.nvim_create_autocmd("VimEnter", {
  callback = function()
    local buffer = vim.api.nvim_get_current_buf()
    local arrived = vim.wait(20000, function()
      return #vim.diagnostic.get(buffer) > 0
    end, 20)
    local found = {}
    for _, d in ipairs(vim.diagnostic.get(buffer)) do
      table.insert(found, {
        lnum = d.lnum,
        col = d.col,
        end_lnum = d.end_lnum,
        end_col = d.end_col,
        severity = d.severity,
        message = d.message,
        source = d.source,
      })
    end
    vim.fn.writefile({ vim.fn.json_encode({ arrived = arrived, diagnostics = found }) }, out)
    vim.cmd("qall!")
  end,
})
