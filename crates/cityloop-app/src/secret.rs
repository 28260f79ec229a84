//! Password hashing (Argon2id) and opaque tokens (random, stored only as a SHA-256 digest).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// Argon2id cost. The default follows OWASP (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

fn argon2(p: &HashParams) -> AppResult<Argon2<'static>> {
    let params = Params::new(p.memory_kib, p.iterations, 1, None)
        .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash_password(p: &HashParams, password: &str) -> AppResult<String> {
    argon2(p)?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// True when `password` matches the PHC string `hash` (its own parameters are used).
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A new random token with `prefix`: 256 bits, URL-safe.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random password that satisfies the default policy: 16 characters from four classes.
pub fn generate_password() -> String {
    use rand::Rng;
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"#%+=@";
    let mut rng = rand::rng();
    let pick = |set: &[u8], rng: &mut rand::rngs::ThreadRng| {
        char::from(
            set.get(rng.random_range(0..set.len()))
                .copied()
                .unwrap_or(b'x'),
        )
    };
    let mut out: Vec<char> = Vec::with_capacity(16);
    for set in [LOWER, UPPER, DIGIT, SYMBOL] {
        out.push(pick(set, &mut rng));
    }
    let all: Vec<u8> = [LOWER, UPPER, DIGIT, SYMBOL].concat();
    while out.len() < 16 {
        out.push(pick(&all, &mut rng));
    }
    // Fisher-Yates so the class order does not leak.
    for i in (1..out.len()).rev() {
        let j = rng.random_range(0..=i);
        out.swap(i, j);
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let p = HashParams {
            memory_kib: 1024,
            iterations: 1,
        };
        let h = hash_password(&p, "城管Demo#2026").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("城管Demo#2026", &h));
        assert!(!verify_password("城管Demo#2027", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let policy = cityloop_domain::password::PasswordPolicy::default();
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.chars().count(), 16);
            policy.check(&p, "someone").unwrap();
        }
    }

    #[test]
    fn tokens_are_unique_and_digested() {
        let a = new_token("cls_");
        let b = new_token("cls_");
        assert_ne!(a, b);
        assert!(a.len() > 40);
        assert_eq!(token_digest(&a).len(), 64);
        assert_eq!(token_digest(&a), token_digest(&a));
    }
}
