//! Content hashes: computing them and refusing anything that is not one.

use sha2::{Digest, Sha256};

use crate::error::{EvidenceError, Result};

/// Length of a hex-encoded SHA-256 digest.
pub const HASH_HEX_LEN: usize = 64;

/// Lowercase hex SHA-256 of `bytes`, the id of a blob.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is exactly 64 lowercase hex characters.
///
/// Hashes arrive from HTTP paths and database rows; accepting only this
/// alphabet is what keeps `../`, separators and case-folding filesystems
/// from ever reaching a path join.
pub fn is_valid_hash(s: &str) -> bool {
    s.len() == HASH_HEX_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `Ok(())` for a valid hash, `InvalidHash` otherwise.
pub(crate) fn check_hash(s: &str) -> Result<()> {
    if is_valid_hash(s) {
        Ok(())
    } else {
        Err(EvidenceError::InvalidHash(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(b"").len(), HASH_HEX_LEN);
    }

    #[test]
    fn validation_accepts_only_lowercase_hex_of_full_length() {
        let good = sha256_hex(b"x");
        assert!(is_valid_hash(&good));
        assert!(!is_valid_hash(&good.to_uppercase()));
        assert!(!is_valid_hash(&good[..63]));
        assert!(!is_valid_hash(&format!("{good}0")));
        assert!(!is_valid_hash("../x"));
        assert!(!is_valid_hash(""));
        let traversal = format!("../{}", &good[3..]);
        assert_eq!(traversal.len(), HASH_HEX_LEN);
        assert!(!is_valid_hash(&traversal));
        let slashed = format!("ab/{}", &good[3..]);
        assert!(!is_valid_hash(&slashed));
        // A multi-byte char must not slip through a byte-length check.
        let unicode = format!("é{}", &good[2..]);
        assert_eq!(unicode.len(), HASH_HEX_LEN);
        assert!(!is_valid_hash(&unicode));
        assert!(matches!(check_hash("../x"), Err(EvidenceError::InvalidHash(h)) if h == "../x"));
    }
}
