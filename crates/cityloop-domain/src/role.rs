use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The roles of a 数字城管 centre (domain-standards §6.2) plus the three separated administrator powers
/// (三员分立) that 等保 level 3 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 监督员: field inspector, reports and verifies/checks on site.
    Inspector,
    /// 受理员: call-centre acceptor.
    Acceptor,
    /// 值班长: shift leader, files and closes cases.
    ShiftLeader,
    /// 派遣员: dispatcher.
    Dispatcher,
    /// 处置人员: handler in a disposal department.
    Handler,
    /// 领导: leader (supervision orders, dashboards).
    Leader,
    /// 系统管理员: accounts, organisation and configuration.
    SysAdmin,
    /// 安全管理员: role grants, unlocks, password resets and security policy.
    SecAdmin,
    /// 审计管理员: reads the audit log; changes nothing.
    AuditAdmin,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Inspector,
        Role::Acceptor,
        Role::ShiftLeader,
        Role::Dispatcher,
        Role::Handler,
        Role::Leader,
        Role::SysAdmin,
        Role::SecAdmin,
        Role::AuditAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Acceptor => "acceptor",
            Role::ShiftLeader => "shift_leader",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::Leader => "leader",
            Role::SysAdmin => "sys_admin",
            Role::SecAdmin => "sec_admin",
            Role::AuditAdmin => "audit_admin",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Inspector => "监督员",
            Role::Acceptor => "受理员",
            Role::ShiftLeader => "值班长",
            Role::Dispatcher => "派遣员",
            Role::Handler => "处置人员",
            Role::Leader => "领导",
            Role::SysAdmin => "系统管理员",
            Role::SecAdmin => "安全管理员",
            Role::AuditAdmin => "审计管理员",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Role::Inspector => "Inspector",
            Role::Acceptor => "Acceptor",
            Role::ShiftLeader => "Shift leader",
            Role::Dispatcher => "Dispatcher",
            Role::Handler => "Department handler",
            Role::Leader => "Leader",
            Role::SysAdmin => "System administrator",
            Role::SecAdmin => "Security administrator",
            Role::AuditAdmin => "Audit administrator",
        }
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Role::SysAdmin | Role::SecAdmin | Role::AuditAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
                FieldError::new(
                    "roles",
                    format!("unknown role `{s}` (known: {})", known.join(", ")),
                )
            })
    }
}

/// Checks a role set for the separation of duties: the three administrator powers are never held by
/// one account, and an administrator account does no case work (its actions would audit themselves).
pub fn validate_role_set(roles: &[Role]) -> Result<(), FieldError> {
    if roles.is_empty() {
        return Err(FieldError::new("roles", "a user needs at least one role"));
    }
    let admins = roles.iter().filter(|r| r.is_admin()).count();
    if admins > 1 {
        return Err(FieldError::new(
            "roles",
            "system, security and audit administrator are separate accounts (三员分立)",
        ));
    }
    if admins == 1 && roles.len() > 1 {
        return Err(FieldError::new(
            "roles",
            "an administrator account cannot also hold business roles",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn separation_of_duties() {
        assert!(validate_role_set(&[Role::SysAdmin, Role::AuditAdmin]).is_err());
        assert!(validate_role_set(&[Role::SecAdmin, Role::Dispatcher]).is_err());
        assert!(validate_role_set(&[]).is_err());
        assert!(validate_role_set(&[Role::Acceptor, Role::ShiftLeader]).is_ok());
        assert!(validate_role_set(&[Role::AuditAdmin]).is_ok());
    }
}
