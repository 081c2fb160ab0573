// Scans and imports build and drop millions of small maps and strings; mimalloc does that
// markedly faster than the system allocator (see the README's Performance section).
#[global_allocator]
static ALLOCATOR: tdc::internals::Allocator = tdc::internals::Allocator;

fn main() {
    std::process::exit(tdc::run(std::env::args_os()));
}
