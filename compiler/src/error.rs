use std::fmt;

/// Why a compile failed. `Display` gives one line that names the input and, for bad input,
/// the section or function and byte offset.
#[derive(Debug)]
pub enum CompileError {
    /// The input is not a valid module under the enabled feature set.
    Invalid {
        source: String,
        location: String,
        offset: usize,
        message: String,
    },
    /// The input uses something this compiler does not support yet.
    Unsupported { source: String, message: String },
    /// The linker is missing or failed.
    Link(String),
    /// Reading or writing a file failed.
    Io(String),
    /// A bug in the compiler: LLVM rejected what we built.
    Internal(String),
}

impl CompileError {
    pub fn invalid(source: &str, location: Option<String>, offset: usize, message: &str) -> Self {
        CompileError::Invalid {
            source: source.to_string(),
            location: location.unwrap_or_default(),
            offset,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Invalid {
                source,
                location,
                offset,
                message,
            } => {
                write!(f, "{source}: invalid module")?;
                if !location.is_empty() {
                    write!(f, " in {location}")?;
                }
                write!(f, " at byte offset {offset:#x}: {message}")
            }
            CompileError::Unsupported { source, message } => {
                write!(f, "{source}: unsupported: {message}")
            }
            CompileError::Link(m) | CompileError::Io(m) => f.write_str(m),
            CompileError::Internal(m) => write!(f, "internal compiler error: {m}"),
        }
    }
}

impl std::error::Error for CompileError {}

impl From<inkwell::builder::BuilderError> for CompileError {
    fn from(e: inkwell::builder::BuilderError) -> Self {
        CompileError::Internal(format!("LLVM builder: {e}"))
    }
}
