//! Authorization, decided in one place: a table of (action, role, scope rule) grants.
//!
//! Anything not granted by a row is denied. Later capabilities add actions and rows here; the
//! application layer asks [`authorize`] before every use case and audits every denial.

use serde::Serialize;

use crate::area::AreaCode;
use crate::role::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AreaRead,
    AreaWrite,
    DepartmentRead,
    DepartmentWrite,
    UserRead,
    UserCreate,
    /// Profile, department, areas, active flag.
    UserUpdate,
    UserSetRoles,
    UserResetPassword,
    UserUnlock,
    AuditRead,
    /// The component and event classes.
    TaxonomyRead,
    TaxonomyWrite,
    /// Filing rules, process limits and the responsibility matrix.
    RulesRead,
    RulesWrite,
    /// The working calendar.
    CalendarRead,
    CalendarWrite,
    /// Unit grids, components, addresses, geocoding.
    BaseDataRead,
    BaseDataWrite,
    /// Report a case (any channel the roles allow).
    CaseReport,
    /// See cases, their timelines and evidence.
    CaseRead,
    /// Perform a workflow action; the case state machine decides which.
    CaseAct,
    /// Upload photos and files.
    EvidenceUpload,
    /// Evaluation results (综合评价) with their case lists.
    EvaluationRead,
    /// Freeze and publish a period's results.
    EvaluationPublish,
    /// Read the evaluation schemes (weights, bands, grades, area classes).
    EvaluationSchemeRead,
    /// Create and publish evaluation schemes; switch the public ranking page on or off.
    EvaluationConfigure,
    /// File an objection (申诉) on how a case counts for one's department.
    EvaluationObject,
    /// Accept or reject objections.
    EvaluationDecide,
    /// Send one's own position from the field (城管通).
    PositionReport,
    /// See where the field inspectors are.
    PositionRead,
    /// Issue, list and revoke partner API keys (Open311 clients, 12345 platforms).
    PartnerManage,
    /// Look at held public reports and approve or reject them.
    ModerationReview,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AreaRead => "area.read",
            Action::AreaWrite => "area.write",
            Action::DepartmentRead => "department.read",
            Action::DepartmentWrite => "department.write",
            Action::UserRead => "user.read",
            Action::UserCreate => "user.create",
            Action::UserUpdate => "user.update",
            Action::UserSetRoles => "user.set_roles",
            Action::UserResetPassword => "user.reset_password",
            Action::UserUnlock => "user.unlock",
            Action::AuditRead => "audit.read",
            Action::TaxonomyRead => "taxonomy.read",
            Action::TaxonomyWrite => "taxonomy.write",
            Action::RulesRead => "rules.read",
            Action::RulesWrite => "rules.write",
            Action::CalendarRead => "calendar.read",
            Action::CalendarWrite => "calendar.write",
            Action::BaseDataRead => "basedata.read",
            Action::BaseDataWrite => "basedata.write",
            Action::CaseReport => "case.report",
            Action::CaseRead => "case.read",
            Action::CaseAct => "case.act",
            Action::EvidenceUpload => "evidence.upload",
            Action::EvaluationRead => "evaluation.read",
            Action::EvaluationPublish => "evaluation.publish",
            Action::EvaluationSchemeRead => "evaluation.scheme.read",
            Action::EvaluationConfigure => "evaluation.configure",
            Action::EvaluationObject => "evaluation.object",
            Action::EvaluationDecide => "evaluation.decide",
            Action::PositionReport => "position.report",
            Action::PositionRead => "position.read",
            Action::PartnerManage => "partner.manage",
            Action::ModerationReview => "moderation.review",
        }
    }
}

/// How far a grant reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything.
    All,
    /// Objects of the subject's department or its sub-units.
    OwnDepartment,
    /// Objects inside the subject's areas.
    OwnArea,
    /// Objects of the subject's department or inside the subject's areas.
    OwnDepartmentOrArea,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub action: Action,
    pub role: Role,
    pub scope: Scope,
}

const fn g(action: Action, role: Role, scope: Scope) -> Grant {
    Grant {
        action,
        role,
        scope,
    }
}

use Action as A;
use Role as R;
use Scope as S;

/// The grant table. Reading the organisation (areas, departments) is open to every role because every
/// workflow step picks from it; reading people is scoped; changing anything is an administrator power,
/// split three ways.
pub const GRANTS: &[Grant] = &[
    g(A::AreaRead, R::Inspector, S::All),
    g(A::AreaRead, R::Acceptor, S::All),
    g(A::AreaRead, R::ShiftLeader, S::All),
    g(A::AreaRead, R::Dispatcher, S::All),
    g(A::AreaRead, R::Handler, S::All),
    g(A::AreaRead, R::Leader, S::All),
    g(A::AreaRead, R::SysAdmin, S::All),
    g(A::AreaRead, R::SecAdmin, S::All),
    g(A::AreaRead, R::AuditAdmin, S::All),
    g(A::AreaWrite, R::SysAdmin, S::All),
    g(A::DepartmentRead, R::Inspector, S::All),
    g(A::DepartmentRead, R::Acceptor, S::All),
    g(A::DepartmentRead, R::ShiftLeader, S::All),
    g(A::DepartmentRead, R::Dispatcher, S::All),
    g(A::DepartmentRead, R::Handler, S::All),
    g(A::DepartmentRead, R::Leader, S::All),
    g(A::DepartmentRead, R::SysAdmin, S::All),
    g(A::DepartmentRead, R::SecAdmin, S::All),
    g(A::DepartmentRead, R::AuditAdmin, S::All),
    g(A::DepartmentWrite, R::SysAdmin, S::All),
    g(A::UserRead, R::Inspector, S::OwnDepartmentOrArea),
    g(A::UserRead, R::Acceptor, S::OwnDepartment),
    g(A::UserRead, R::ShiftLeader, S::All),
    g(A::UserRead, R::Dispatcher, S::All),
    g(A::UserRead, R::Handler, S::OwnDepartment),
    g(A::UserRead, R::Leader, S::All),
    g(A::UserRead, R::SysAdmin, S::All),
    g(A::UserRead, R::SecAdmin, S::All),
    g(A::UserRead, R::AuditAdmin, S::All),
    g(A::UserCreate, R::SysAdmin, S::All),
    g(A::UserUpdate, R::SysAdmin, S::All),
    g(A::UserSetRoles, R::SecAdmin, S::All),
    g(A::UserResetPassword, R::SecAdmin, S::All),
    g(A::UserUnlock, R::SecAdmin, S::All),
    g(A::AuditRead, R::AuditAdmin, S::All),
    // Standards: everyone who reports, files, dispatches, disposes or supervises reads them (and the
    // auditor, since evaluations are argued over them); only the system administrator changes them.
    g(A::TaxonomyRead, R::Inspector, S::All),
    g(A::TaxonomyRead, R::Acceptor, S::All),
    g(A::TaxonomyRead, R::ShiftLeader, S::All),
    g(A::TaxonomyRead, R::Dispatcher, S::All),
    g(A::TaxonomyRead, R::Handler, S::All),
    g(A::TaxonomyRead, R::Leader, S::All),
    g(A::TaxonomyRead, R::SysAdmin, S::All),
    g(A::TaxonomyRead, R::AuditAdmin, S::All),
    g(A::TaxonomyWrite, R::SysAdmin, S::All),
    g(A::RulesRead, R::Inspector, S::All),
    g(A::RulesRead, R::Acceptor, S::All),
    g(A::RulesRead, R::ShiftLeader, S::All),
    g(A::RulesRead, R::Dispatcher, S::All),
    g(A::RulesRead, R::Handler, S::All),
    g(A::RulesRead, R::Leader, S::All),
    g(A::RulesRead, R::SysAdmin, S::All),
    g(A::RulesRead, R::AuditAdmin, S::All),
    g(A::RulesWrite, R::SysAdmin, S::All),
    g(A::CalendarRead, R::Inspector, S::All),
    g(A::CalendarRead, R::Acceptor, S::All),
    g(A::CalendarRead, R::ShiftLeader, S::All),
    g(A::CalendarRead, R::Dispatcher, S::All),
    g(A::CalendarRead, R::Handler, S::All),
    g(A::CalendarRead, R::Leader, S::All),
    g(A::CalendarRead, R::SysAdmin, S::All),
    g(A::CalendarRead, R::AuditAdmin, S::All),
    g(A::CalendarWrite, R::SysAdmin, S::All),
    // Everyone locates things; the system administrator maintains the base data.
    g(A::BaseDataRead, R::Inspector, S::All),
    g(A::BaseDataRead, R::Acceptor, S::All),
    g(A::BaseDataRead, R::ShiftLeader, S::All),
    g(A::BaseDataRead, R::Dispatcher, S::All),
    g(A::BaseDataRead, R::Handler, S::All),
    g(A::BaseDataRead, R::Leader, S::All),
    g(A::BaseDataRead, R::SysAdmin, S::All),
    g(A::BaseDataRead, R::AuditAdmin, S::All),
    g(A::BaseDataWrite, R::SysAdmin, S::All),
    // The closed loop. The case state machine decides which step each role may take; these rows
    // decide whose cases a person may touch at all: inspectors their areas (and what they
    // reported), handlers their department's cases, the centre and leaders every case.
    g(A::CaseReport, R::Inspector, S::All),
    g(A::CaseReport, R::Acceptor, S::All),
    g(A::CaseReport, R::Leader, S::All),
    g(A::CaseRead, R::Inspector, S::OwnArea),
    g(A::CaseRead, R::Acceptor, S::All),
    g(A::CaseRead, R::ShiftLeader, S::All),
    g(A::CaseRead, R::Dispatcher, S::All),
    g(A::CaseRead, R::Handler, S::OwnDepartment),
    g(A::CaseRead, R::Leader, S::All),
    g(A::CaseRead, R::AuditAdmin, S::All),
    g(A::CaseAct, R::Inspector, S::OwnArea),
    g(A::CaseAct, R::Acceptor, S::All),
    g(A::CaseAct, R::ShiftLeader, S::All),
    g(A::CaseAct, R::Dispatcher, S::All),
    g(A::CaseAct, R::Handler, S::OwnDepartment),
    g(A::CaseAct, R::Leader, S::All),
    g(A::EvidenceUpload, R::Inspector, S::All),
    g(A::EvidenceUpload, R::Acceptor, S::All),
    g(A::EvidenceUpload, R::ShiftLeader, S::All),
    g(A::EvidenceUpload, R::Handler, S::All),
    g(A::EvidenceUpload, R::Leader, S::All),
    // League tables are the centre's management instrument: its leaders, shift leaders and
    // dispatchers read them, and the auditor checks them.
    g(A::EvaluationRead, R::ShiftLeader, S::All),
    g(A::EvaluationRead, R::Dispatcher, S::All),
    g(A::EvaluationRead, R::Leader, S::All),
    g(A::EvaluationRead, R::AuditAdmin, S::All),
    // Announcing the month's league tables is the leadership's act.
    g(A::EvaluationPublish, R::Leader, S::All),
    // The scheme is configuration: the system administrator maintains it, and everyone who reads
    // league tables may see what they are scored on.
    g(A::EvaluationSchemeRead, R::SysAdmin, S::All),
    g(A::EvaluationSchemeRead, R::ShiftLeader, S::All),
    g(A::EvaluationSchemeRead, R::Dispatcher, S::All),
    g(A::EvaluationSchemeRead, R::Leader, S::All),
    g(A::EvaluationSchemeRead, R::AuditAdmin, S::All),
    g(A::EvaluationSchemeRead, R::Handler, S::All),
    g(A::EvaluationConfigure, R::SysAdmin, S::All),
    // A department disputes its own counting; an administrator decides.
    g(A::EvaluationObject, R::Handler, S::OwnDepartment),
    g(A::EvaluationDecide, R::SysAdmin, S::All),
    // Inspectors' positions are personal data: only the desks that direct them see them.
    g(A::PositionReport, R::Inspector, S::All),
    g(A::PositionRead, R::ShiftLeader, S::All),
    g(A::PositionRead, R::Dispatcher, S::All),
    g(A::PositionRead, R::Leader, S::All),
    // Keys let other systems write cases, so they are a system-administration matter.
    g(A::PartnerManage, R::SysAdmin, S::All),
    // Held public reports are intake work: the acceptors' desk, with the shift leader above it.
    g(A::ModerationReview, R::Acceptor, S::All),
    g(A::ModerationReview, R::ShiftLeader, S::All),
];

/// Who is acting, with the data scope that comes from their department and areas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub user_id: i64,
    pub roles: Vec<Role>,
    pub department_id: Option<i64>,
    pub areas: Vec<AreaCode>,
}

/// What is acted on. A department is given with its ancestor chain (itself first) so that a sub-unit
/// falls inside its parent department's scope.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A collection or a creation: only unscoped grants apply directly; scoped grants allow it and the
    /// caller filters the result with [`DataScope`].
    Collection,
    Area(&'a AreaCode),
    Department {
        chain: &'a [i64],
    },
    User {
        id: i64,
        department_chain: &'a [i64],
        areas: &'a [AreaCode],
    },
    /// A case: where it is, which departments hold it (each with its ancestors), who reported it.
    Case {
        area: Option<&'a AreaCode>,
        department_ids: &'a [i64],
        reported_by: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(Scope),
    Deny(&'static str),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

fn in_department(subject: &Subject, chain: &[i64]) -> bool {
    subject.department_id.is_some_and(|d| chain.contains(&d))
}

fn in_areas(subject: &Subject, area: &AreaCode) -> bool {
    subject.areas.iter().any(|a| a.contains(area))
}

fn scope_covers(scope: Scope, subject: &Subject, target: &Target<'_>) -> bool {
    let dept = |s: &Subject| match target {
        Target::Collection => true,
        Target::Area(_) => false,
        Target::Department { chain } => in_department(s, chain),
        Target::User {
            id,
            department_chain,
            ..
        } => *id == s.user_id || in_department(s, department_chain),
        Target::Case {
            department_ids,
            reported_by,
            ..
        } => *reported_by == s.user_id || in_department(s, department_ids),
    };
    let area = |s: &Subject| match target {
        Target::Collection => true,
        Target::Area(a) => in_areas(s, a),
        Target::Department { .. } => false,
        Target::User { id, areas, .. } => *id == s.user_id || areas.iter().any(|a| in_areas(s, a)),
        Target::Case {
            area, reported_by, ..
        } => *reported_by == s.user_id || area.is_some_and(|a| in_areas(s, a)),
    };
    match scope {
        Scope::All => true,
        Scope::OwnDepartment => dept(subject),
        Scope::OwnArea => area(subject),
        Scope::OwnDepartmentOrArea => dept(subject) || area(subject),
    }
}

/// Decides whether `subject` may perform `action` on `target`. The widest matching grant wins.
pub fn authorize(subject: &Subject, action: Action, target: &Target<'_>) -> Decision {
    if action == Action::UserSetRoles
        && let Target::User { id, .. } = target
        && *id == subject.user_id
    {
        return Decision::Deny("no one changes their own roles");
    }
    let mut best: Option<Scope> = None;
    for grant in GRANTS
        .iter()
        .filter(|g| g.action == action && subject.roles.contains(&g.role))
    {
        if scope_covers(grant.scope, subject, target) {
            if grant.scope == Scope::All {
                return Decision::Allow(Scope::All);
            }
            best = Some(match best {
                Some(prev) if prev != grant.scope => Scope::OwnDepartmentOrArea,
                _ => grant.scope,
            });
        }
    }
    match best {
        Some(scope) => Decision::Allow(scope),
        None if GRANTS
            .iter()
            .any(|g| g.action == action && subject.roles.contains(&g.role)) =>
        {
            Decision::Deny("outside your data scope")
        }
        None => Decision::Deny("your roles do not allow this action"),
    }
}

/// The data scope a list query must be filtered to, derived from an `Allow` decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataScope {
    All,
    Limited {
        /// The subject's department; rows of it and its sub-units are visible.
        department_id: Option<i64>,
        /// Rows inside these areas are visible.
        areas: Vec<AreaCode>,
        /// The subject's own row is always visible.
        user_id: i64,
    },
}

impl DataScope {
    pub fn for_decision(subject: &Subject, scope: Scope) -> DataScope {
        let dept = matches!(scope, Scope::OwnDepartment | Scope::OwnDepartmentOrArea);
        let area = matches!(scope, Scope::OwnArea | Scope::OwnDepartmentOrArea);
        match scope {
            Scope::All => DataScope::All,
            _ => DataScope::Limited {
                department_id: if dept { subject.department_id } else { None },
                areas: if area {
                    subject.areas.clone()
                } else {
                    Vec::new()
                },
                user_id: subject.user_id,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(roles: &[Role], dept: Option<i64>, areas: &[&str]) -> Subject {
        Subject {
            user_id: 1,
            roles: roles.to_vec(),
            department_id: dept,
            areas: areas.iter().map(|a| AreaCode::parse(a).unwrap()).collect(),
        }
    }

    #[test]
    fn deny_by_default() {
        let s = subject(&[Role::Inspector], Some(1), &[]);
        assert_eq!(
            authorize(&s, Action::AuditRead, &Target::Collection),
            Decision::Deny("your roles do not allow this action")
        );
        let nobody = subject(&[], None, &[]);
        for g in GRANTS {
            assert!(!authorize(&nobody, g.action, &Target::Collection).is_allowed());
        }
    }

    #[test]
    fn acceptor_reads_only_own_department_users() {
        let s = subject(&[Role::Acceptor], Some(10), &[]);
        let own = Target::User {
            id: 7,
            department_chain: &[11, 10],
            areas: &[],
        };
        let other = Target::User {
            id: 8,
            department_chain: &[20],
            areas: &[],
        };
        assert!(authorize(&s, Action::UserRead, &own).is_allowed());
        assert_eq!(
            authorize(&s, Action::UserRead, &other),
            Decision::Deny("outside your data scope")
        );
    }

    #[test]
    fn three_administrators_are_separate() {
        let audit = subject(&[Role::AuditAdmin], None, &[]);
        let sys = subject(&[Role::SysAdmin], None, &[]);
        let sec = subject(&[Role::SecAdmin], None, &[]);
        let someone = Target::User {
            id: 9,
            department_chain: &[],
            areas: &[],
        };
        for a in [
            Action::UserCreate,
            Action::UserUpdate,
            Action::UserSetRoles,
            Action::UserResetPassword,
            Action::AreaWrite,
            Action::DepartmentWrite,
        ] {
            assert!(!authorize(&audit, a, &someone).is_allowed(), "{a:?}");
        }
        assert!(authorize(&audit, Action::AuditRead, &Target::Collection).is_allowed());
        assert!(!authorize(&sys, Action::AuditRead, &Target::Collection).is_allowed());
        assert!(!authorize(&sys, Action::UserSetRoles, &someone).is_allowed());
        assert!(authorize(&sec, Action::UserSetRoles, &someone).is_allowed());
        assert!(!authorize(&sec, Action::UserCreate, &Target::Collection).is_allowed());
        let me = Target::User {
            id: 1,
            department_chain: &[],
            areas: &[],
        };
        assert!(!authorize(&sec, Action::UserSetRoles, &me).is_allowed());
    }

    #[test]
    fn inspector_sees_colleagues_in_own_areas() {
        let s = subject(&[Role::Inspector], None, &["330188001"]);
        let areas = [AreaCode::parse("330188001002").unwrap()];
        let colleague = Target::User {
            id: 5,
            department_chain: &[],
            areas: &areas,
        };
        assert!(authorize(&s, Action::UserRead, &colleague).is_allowed());
        let far = [AreaCode::parse("330188002").unwrap()];
        let stranger = Target::User {
            id: 6,
            department_chain: &[],
            areas: &far,
        };
        assert!(!authorize(&s, Action::UserRead, &stranger).is_allowed());
    }

    #[test]
    fn every_action_has_a_grant() {
        for a in [
            Action::AreaRead,
            Action::AreaWrite,
            Action::DepartmentRead,
            Action::DepartmentWrite,
            Action::UserRead,
            Action::UserCreate,
            Action::UserUpdate,
            Action::UserSetRoles,
            Action::UserResetPassword,
            Action::UserUnlock,
            Action::AuditRead,
            Action::TaxonomyRead,
            Action::TaxonomyWrite,
            Action::RulesRead,
            Action::RulesWrite,
            Action::CalendarRead,
            Action::CalendarWrite,
            Action::BaseDataRead,
            Action::BaseDataWrite,
        ] {
            assert!(GRANTS.iter().any(|g| g.action == a), "{a:?}");
        }
    }
}
