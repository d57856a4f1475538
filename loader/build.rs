fn main() {
    println!("cargo:rerun-if-changed=src/vm/trap_catch.c");
    let mut build = cc::Build::new();
    build.file("src/vm/trap_catch.c").opt_level(2);
    // The entry state's thread-local through TLS descriptors (see trap_catch.c).
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") {
        // Compilers that lack it (clang before 19) keep `__tls_get_addr`: slower, still not
        // static TLS.
        build.flag_if_supported("-mtls-dialect=gnu2");
    }
    build.compile("waot_trap_catch");
}
