"""`tdc lsp` driven by a real LSP client (pytest-lsp): diagnostics with the ranges and words of
`tdc check`, completion, hover, signature help, go to definition and document symbols.

Run by tests/suite/editor.rs with TDC_BIN (the binary) and TDC_LSP_DIR (a folder for the
scripts) set.
"""

import os
import pathlib
import re
import subprocess

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

TDC = os.environ["TDC_BIN"]
FOLDER = pathlib.Path(os.environ["TDC_LSP_DIR"])

# A typo in a method of `td` on line 1, a parse error on line 3.
BROKEN = """let n = td.cdr().len();
let ok = 1;
let x = (1 + ;
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[TDC, "lsp"]))
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=FOLDER.as_uri(),
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def open_script(client: LanguageClient, name: str, text: str) -> str:
    path = FOLDER / name
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="rhai", version=1, text=text
            )
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def at(uri: str, line: int, character: int) -> dict:
    return {
        "text_document": types.TextDocumentIdentifier(uri=uri),
        "position": types.Position(line=line, character=character),
    }


async def completion_labels(client: LanguageClient, uri: str, line: int, character: int):
    result = await client.text_document_completion_async(
        types.CompletionParams(**at(uri, line, character))
    )
    items = result.items if isinstance(result, types.CompletionList) else result
    return [item.label for item in items]


@pytest.mark.asyncio
async def test_a_typo_and_a_parse_error_are_reported_where_they_are(client: LanguageClient):
    uri = await open_script(client, "broken.rhai", BROKEN)
    diagnostics = sorted(client.diagnostics[uri], key=lambda d: d.range.start.line)
    assert len(diagnostics) == 2, diagnostics
    typo, parse = diagnostics

    assert typo.severity == types.DiagnosticSeverity.Error
    assert (typo.range.start.line, typo.range.start.character) == (0, 11)
    assert (typo.range.end.line, typo.range.end.character) == (0, 14)
    assert "cdr" in typo.message and "did you mean .cdrs()" in typo.message, typo.message

    # The same words and position as `tdc check` on the same file.
    checked = subprocess.run(
        [TDC, "check", str(FOLDER / "broken.rhai")], capture_output=True, text=True
    )
    assert checked.returncode != 0
    first = checked.stderr.splitlines()[0]
    found = re.match(r".*broken\.rhai:(\d+):(\d+): error: (.*)$", first)
    assert found, first
    line, column, message = int(found[1]), int(found[2]), found[3]
    assert parse.message == message
    assert (parse.range.start.line, parse.range.start.character) == (line - 1, column - 1)
    assert (parse.range.start.line, parse.range.start.character) == (2, 13)
    assert parse.range.end.character == 14


@pytest.mark.asyncio
async def test_a_change_is_checked_again(client: LanguageClient):
    uri = await open_script(client, "fixed.rhai", BROKEN)
    assert len(client.diagnostics[uri]) == 2
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(
                    text="let n = td.cdrs().where(\"q85\", 16);\n"
                )
            ],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    [field] = client.diagnostics[uri]
    assert field.severity == types.DiagnosticSeverity.Warning
    assert field.message == 'cdrs have no field "q85"; did you mean "q850"?'
    assert (field.range.start.character, field.range.end.character) == (24, 29)


@pytest.mark.asyncio
async def test_completion_knows_td_fields_modules_and_locals(client: LanguageClient):
    text = (
        'import "cdr" as cdr;\n'
        "fn helper(rows) { rows }\n"
        "let calls = td.calls();\n"
        "td.\n"
        'td.cdrs().where("\n'
        "cdr::\n"
        'import "\n'
        "hel\n"
        'calls.where("\n'
    )
    uri = await open_script(client, "complete.rhai", text)

    after_td = await completion_labels(client, uri, 3, 3)
    assert "cdrs" in after_td and "campaigns" in after_td, after_td
    fields = await completion_labels(client, uri, 4, 17)
    assert "q850" in fields and "status" in fields, fields
    stdlib = await completion_labels(client, uri, 5, 5)
    assert "kpis" in stdlib, stdlib
    modules = await completion_labels(client, uri, 6, 8)
    assert "cdr" in modules and "recycle" in modules, modules
    locals_ = await completion_labels(client, uri, 7, 3)
    assert "helper" in locals_, locals_
    call_fields = await completion_labels(client, uri, 8, 13)
    assert "call_bill_duration" in call_fields and "q850" in call_fields, call_fields


@pytest.mark.asyncio
async def test_hover_and_signature_help_show_the_docs(client: LanguageClient):
    text = 'import "cdr" as cdr;\nlet k = cdr::kpis([]);\nlet q = td.find_leads("phone", \n'
    uri = await open_script(client, "hover.rhai", text)
    hover = await client.text_document_hover_async(types.HoverParams(**at(uri, 1, 15)))
    assert hover is not None
    value = hover.contents.value
    assert "cdr::kpis(rows: Array) -> Map" in value, value
    assert "```rhai" in value and 'import "cdr"' in value, value
    assert (hover.range.start.character, hover.range.end.character) == (13, 17)

    help = await client.text_document_signature_help_async(
        types.SignatureHelpParams(**at(uri, 2, 31))
    )
    assert help is not None
    assert help.signatures[0].label.startswith("td.find_leads(field: String, value: ?)")
    assert help.active_parameter == 1


@pytest.mark.asyncio
async def test_definitions_and_symbols(client: LanguageClient):
    text = (
        'import "recycle" as recycle;\n'
        "/// Twice the value.\n"
        "fn twice(x) { x * 2 }\n"
        "let y = twice(2);\n"
        "let last = recycle::last_calls(td, 1);\n"
    )
    uri = await open_script(client, "define.rhai", text)
    assert len(client.diagnostics[uri]) == 0, client.diagnostics[uri]

    found = await client.text_document_definition_async(
        types.DefinitionParams(**at(uri, 3, 9))
    )
    location = found[0] if isinstance(found, list) else found
    assert location.uri == uri
    assert (location.range.start.line, location.range.start.character) == (2, 3)

    hover = await client.text_document_hover_async(types.HoverParams(**at(uri, 3, 9)))
    assert "fn twice(x)" in hover.contents.value and "Twice the value." in hover.contents.value

    # The stdlib's embedded source, in a copy no edit can change.
    found = await client.text_document_definition_async(
        types.DefinitionParams(**at(uri, 4, 22))
    )
    location = found[0] if isinstance(found, list) else found
    path = pathlib.Path(location.uri.removeprefix("file://"))
    assert path.name == "recycle.rhai"
    assert path.stat().st_mode & 0o222 == 0, oct(path.stat().st_mode)
    assert "fn last_calls(" in path.read_text().splitlines()[location.range.start.line]

    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert [(s.name, s.kind) for s in symbols] == [
        ("twice", types.SymbolKind.Function),
        ("y", types.SymbolKind.Variable),
        ("last", types.SymbolKind.Variable),
    ]
