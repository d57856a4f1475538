use crate::Trap;
use std::fmt;

/// Errors of the embedding API. `Display` is one line.
#[derive(Debug)]
pub enum Error {
    /// The artifact cannot be loaded: missing, malformed, foreign or tampered with.
    Load(String),
    /// Imports do not match what the module needs.
    Link(String),
    /// Guest code trapped (during instantiation's start function or a call).
    Trap(Trap),
    /// Wrong use of the API: bad argument types, unknown exports.
    Usage(String),
    /// A resource limit of the store (`StoreData::set_resource_limits`) would be exceeded.
    Limit(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load(m) | Error::Link(m) | Error::Usage(m) | Error::Limit(m) => f.write_str(m),
            Error::Trap(t) => write!(f, "trap: {t}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Trap> for Error {
    fn from(t: Trap) -> Self {
        Error::Trap(t)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
