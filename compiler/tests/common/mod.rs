//! Helpers shared by the compiler's integration tests.

/// The body of `waot_func_{index}` in a module's textual IR.
pub fn function_body(ir: &str, index: usize) -> &str {
    let start = ir
        .find(&format!("@waot_func_{index}("))
        .expect("function defined");
    let rest = &ir[start..];
    &rest[..rest.find("\n}\n").expect("the function's end")]
}
