//! Password policy. The default is the 等保 level-3 profile (length and character classes); the
//! thresholds are configuration.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// How many of {lower case, upper case, digit, other} a password must use.
    pub min_classes: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            min_classes: 3,
        }
    }
}

/// A few of the most common leaked passwords that also pass the class rule; a full breached list is
/// a later addition.
const COMMON: &[&str] = &[
    "Passw0rd",
    "P@ssw0rd",
    "Password1",
    "Password123",
    "Admin123",
    "Admin@123",
    "Qwerty123",
    "Abc12345",
    "Abcd1234",
    "Aa123456",
    "Welcome1",
    "Root@123",
];

impl PasswordPolicy {
    pub fn check(&self, password: &str, username: &str) -> Result<(), FieldError> {
        let len = password.chars().count();
        if len < self.min_length {
            return Err(FieldError::new(
                "password",
                format!("at least {} characters", self.min_length),
            ));
        }
        if len > 256 {
            return Err(FieldError::new("password", "at most 256 characters"));
        }
        let classes = [
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ]
        .into_iter()
        .filter(|b| *b)
        .count();
        if classes < self.min_classes {
            return Err(FieldError::new(
                "password",
                format!(
                    "use at least {} of: lower case, upper case, digits, symbols",
                    self.min_classes
                ),
            ));
        }
        if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
            return Err(FieldError::new(
                "password",
                "must not contain the user name",
            ));
        }
        if COMMON.iter().any(|c| c.eq_ignore_ascii_case(password)) {
            return Err(FieldError::new("password", "too common"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile() {
        let p = PasswordPolicy::default();
        assert!(p.check("short1A", "x").is_err());
        assert!(p.check("alllowercase", "x").is_err());
        assert!(p.check("lower123only", "x").is_err());
        assert!(p.check("lower123#only", "x").is_ok());
        assert!(p.check("Zhang#2026", "zhang").is_err());
        assert!(p.check("P@ssw0rd", "x").is_err());
        assert!(p.check("城管Demo#2026", "x").is_ok());
    }
}
