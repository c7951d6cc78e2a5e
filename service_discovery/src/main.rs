fn main() {
    println!("service_discovery {}", env!("CARGO_PKG_VERSION"));
}
