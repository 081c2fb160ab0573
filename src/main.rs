fn main() {
    std::process::exit(tdc::run(std::env::args_os()));
}
