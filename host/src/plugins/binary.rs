//! A component binary together with its SHA-256, which keys its compile cache entry.
//!
//! Built-in plugins carry a digest the build script computed. Hashing them at every start
//! would read every embedded component (about 0.9 MB of the binary) only to find their cache
//! entries, and the pages read would stay resident for the life of the process.

use sha2::{Digest, Sha256};

/// Component bytes and their SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct ComponentBinary<'a> {
    bytes: &'a [u8],
    sha256: [u8; 32],
}

impl<'a> ComponentBinary<'a> {
    /// Hashes `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        ComponentBinary {
            bytes,
            sha256: Sha256::digest(bytes).into(),
        }
    }

    /// Bytes whose digest is already known: only the build script's, for built-in plugins
    /// (a unit test in `builtin` checks every one of them).
    pub(super) const fn prehashed(bytes: &'a [u8], sha256: [u8; 32]) -> Self {
        ComponentBinary { bytes, sha256 }
    }

    /// The component.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Its SHA-256.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }
}
