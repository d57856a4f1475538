fn main() {
    println!("cargo:rerun-if-changed=src/vm/trap_catch.c");
    cc::Build::new()
        .file("src/vm/trap_catch.c")
        .opt_level(2)
        .compile("waot_trap_catch");
}
