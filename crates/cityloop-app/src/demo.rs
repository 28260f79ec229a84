//! The demo organisation: a fictional district with streets, communities, departments with
//! sub-units and one or more users per role. Seeding is idempotent and split into named steps recorded
//! in `meta`, so later steps (the city's grids, a year of cases) can be added without reseeding.

use cityloop_domain::Role;
use serde_json::json;

use crate::{Actor, App, AppError, AppResult, AreaInput, Ctx, DepartmentInput, Obj, UserInput};

/// The password of every demo account; printed by `cityloop demo`.
pub const DEMO_PASSWORD: &str = "Demo#2026";

pub const DISTRICT: (&str, &str, &str) = ("330188", "临江区", "Linjiang District");

pub const STREETS: [(&str, &str, &str); 6] = [
    ("001", "江滨街道", "Jiangbin Street"),
    ("002", "城东街道", "Chengdong Street"),
    ("003", "城西街道", "Chengxi Street"),
    ("004", "南湖街道", "Nanhu Street"),
    ("005", "北山街道", "Beishan Street"),
    ("006", "新城街道", "Xincheng Street"),
];

const COMMUNITIES: [&str; 24] = [
    "金桂", "银杏", "翠苑", "和平", "解放", "朝晖", "文晖", "东园", "西园", "南苑", "北苑", "新华",
    "长庆", "明月", "春江", "滨河", "柳营", "梅园", "兰亭", "竹林", "松风", "枫林", "樱花", "荷塘",
];

/// (code, name, English name, kind, parent code)
const DEPARTMENTS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "CENTRE",
        "城市管理监督指挥中心",
        "Supervision and Command Centre",
        "centre",
        None,
    ),
    (
        "ZFJ",
        "城市管理行政执法局",
        "Urban Management Enforcement Bureau",
        "department",
        None,
    ),
    (
        "ZFJ-1",
        "执法一中队",
        "Enforcement Squad 1",
        "department",
        Some("ZFJ"),
    ),
    (
        "ZFJ-2",
        "执法二中队",
        "Enforcement Squad 2",
        "department",
        Some("ZFJ"),
    ),
    (
        "ZFJ-3",
        "执法三中队",
        "Enforcement Squad 3",
        "department",
        Some("ZFJ"),
    ),
    (
        "SZ",
        "市政工程管理处",
        "Municipal Works Office",
        "department",
        None,
    ),
    (
        "SZ-ROAD",
        "道路养护所",
        "Road Maintenance Unit",
        "department",
        Some("SZ"),
    ),
    (
        "SZ-DRAIN",
        "排水管理所",
        "Drainage Unit",
        "department",
        Some("SZ"),
    ),
    (
        "YL",
        "园林绿化管理处",
        "Parks and Greening Office",
        "department",
        None,
    ),
    (
        "YL-1",
        "绿化养护一所",
        "Greening Unit 1",
        "department",
        Some("YL"),
    ),
    (
        "YL-2",
        "绿化养护二所",
        "Greening Unit 2",
        "department",
        Some("YL"),
    ),
    (
        "HW",
        "环境卫生管理处",
        "Sanitation Office",
        "department",
        None,
    ),
    (
        "HW-CLEAN",
        "道路保洁所",
        "Street Cleaning Unit",
        "department",
        Some("HW"),
    ),
    (
        "HW-TRANS",
        "垃圾清运所",
        "Waste Collection Unit",
        "department",
        Some("HW"),
    ),
    (
        "ZJ",
        "住房和城乡建设局",
        "Housing and Construction Bureau",
        "department",
        None,
    ),
    ("JT", "交通运输局", "Transport Bureau", "department", None),
    (
        "JJ",
        "公安交警大队",
        "Traffic Police Brigade",
        "department",
        None,
    ),
    (
        "JJ-1",
        "城区交警中队",
        "Urban Traffic Squad",
        "department",
        Some("JJ"),
    ),
    (
        "SW",
        "自来水公司",
        "Water Supply Company",
        "department",
        None,
    ),
    ("GD", "供电公司", "Power Supply Company", "department", None),
    ("RQ", "燃气公司", "Gas Company", "department", None),
    (
        "TX",
        "通信管线管理办公室",
        "Telecom Lines Office",
        "department",
        None,
    ),
];

/// (username, name, roles, department code, area codes relative to the district: street or street+community)
type DemoUser = (
    &'static str,
    &'static str,
    &'static [Role],
    Option<&'static str>,
    &'static [&'static str],
);

const USERS: &[DemoUser] = &[
    (
        "inspector1",
        "王建国",
        &[Role::Inspector],
        Some("CENTRE"),
        &["001"],
    ),
    (
        "inspector2",
        "李晓明",
        &[Role::Inspector],
        Some("CENTRE"),
        &["002"],
    ),
    (
        "inspector3",
        "孙志强",
        &[Role::Inspector],
        Some("CENTRE"),
        &["003"],
    ),
    (
        "inspector4",
        "吴海燕",
        &[Role::Inspector],
        Some("CENTRE"),
        &["004"],
    ),
    (
        "inspector5",
        "郑卫东",
        &[Role::Inspector],
        Some("CENTRE"),
        &["005"],
    ),
    (
        "inspector6",
        "冯雪梅",
        &[Role::Inspector],
        Some("CENTRE"),
        &["006"],
    ),
    ("acceptor1", "张丽", &[Role::Acceptor], Some("CENTRE"), &[]),
    ("acceptor2", "黄婷", &[Role::Acceptor], Some("CENTRE"), &[]),
    (
        "shiftleader1",
        "陈刚",
        &[Role::ShiftLeader],
        Some("CENTRE"),
        &[],
    ),
    (
        "dispatcher1",
        "刘洋",
        &[Role::Dispatcher],
        Some("CENTRE"),
        &[],
    ),
    ("handler1", "赵强", &[Role::Handler], Some("SZ"), &[]),
    ("handler2", "钱磊", &[Role::Handler], Some("SZ-ROAD"), &[]),
    ("handler3", "周敏", &[Role::Handler], Some("HW"), &[]),
    ("handler4", "杨帆", &[Role::Handler], Some("ZFJ-1"), &[]),
    ("handler5", "许诺", &[Role::Handler], Some("YL"), &[]),
    ("leader1", "何志远", &[Role::Leader], Some("CENTRE"), &[]),
    ("sysadmin", "系统管理员", &[Role::SysAdmin], None, &[]),
    ("secadmin", "安全管理员", &[Role::SecAdmin], None, &[]),
    ("auditadmin", "审计管理员", &[Role::AuditAdmin], None, &[]),
];

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Steps that ran now (empty on a reused database).
    pub seeded: Vec<&'static str>,
    pub accounts: Vec<DemoAccount>,
}

const STEP_ORG: &str = "demo.organisation";

impl App {
    /// Seeds whatever demo steps the database does not have yet.
    pub async fn seed_demo(&self) -> AppResult<DemoReport> {
        let mut seeded = Vec::new();
        let done = {
            let mut tx = self.store.read().await?;
            tx.get_meta(STEP_ORG).await?.is_some()
        };
        if !done {
            self.seed_organisation().await?;
            let mut tx = self.store.write().await?;
            tx.set_meta(STEP_ORG, &json!({ "version": 1 }).to_string(), self.now())
                .await?;
            tx.commit().await?;
            seeded.push(STEP_ORG);
        }
        let rules_done = {
            let mut tx = self.store.read().await?;
            tx.get_meta(STEP_RULES).await?.is_some()
        };
        if !rules_done {
            self.seed_demo_rules().await?;
            let mut tx = self.store.write().await?;
            tx.set_meta(STEP_RULES, &json!({ "version": 1 }).to_string(), self.now())
                .await?;
            tx.commit().await?;
            seeded.push(STEP_RULES);
        }
        let accounts = USERS
            .iter()
            .map(|(u, n, roles, d, _)| DemoAccount {
                username: (*u).to_owned(),
                display_name: (*n).to_owned(),
                roles: roles.to_vec(),
                department: d.map(str::to_owned),
            })
            .collect();
        Ok(DemoReport { seeded, accounts })
    }

    async fn seed_organisation(&self) -> AppResult<()> {
        let actor = Actor::System("demo".into());
        let ctx = Ctx::default();
        let (dcode, dname, den) = DISTRICT;
        self.create_area(
            &actor,
            AreaInput {
                code: dcode.into(),
                name: dname.into(),
                name_en: Some(den.into()),
            },
            &ctx,
        )
        .await?;
        let mut names = COMMUNITIES.iter();
        for (scode, sname, sen) in STREETS {
            let street = format!("{dcode}{scode}");
            self.create_area(
                &actor,
                AreaInput {
                    code: street.clone(),
                    name: sname.into(),
                    name_en: Some(sen.into()),
                },
                &ctx,
            )
            .await?;
            for i in 1..=4 {
                let name = names.next().copied().unwrap_or("新建");
                self.create_area(
                    &actor,
                    AreaInput {
                        code: format!("{street}{i:03}"),
                        name: format!("{name}社区"),
                        name_en: None,
                    },
                    &ctx,
                )
                .await?;
            }
        }
        for (code, name, en, kind, parent) in DEPARTMENTS {
            self.create_department(
                &actor,
                DepartmentInput {
                    code: (*code).into(),
                    name: (*name).into(),
                    name_en: Some((*en).into()),
                    parent_code: parent.map(Into::into),
                    kind: (*kind).into(),
                    phone: None,
                },
                &ctx,
            )
            .await?;
        }
        for (scode, sname, sen) in STREETS {
            self.create_department(
                &actor,
                DepartmentInput {
                    code: format!("JD-{scode}"),
                    name: format!("{sname}办事处"),
                    name_en: Some(format!("{sen} Office")),
                    parent_code: None,
                    kind: "street_office".into(),
                    phone: None,
                },
                &ctx,
            )
            .await?;
        }
        for (username, name, roles, dept, areas) in USERS {
            self.create_user(
                &actor,
                UserInput {
                    username: (*username).into(),
                    display_name: (*name).into(),
                    phone: None,
                    department_code: dept.map(Into::into),
                    areas: areas.iter().map(|a| format!("{dcode}{a}")).collect(),
                    roles: roles.to_vec(),
                    password: DEMO_PASSWORD.into(),
                    must_change_password: false,
                },
                &ctx,
            )
            .await?;
        }
        Ok(())
    }
}

/// Default responsible departments of the demo district: (class selector, department).
const DEMO_MATRIX: &[(&str, &str)] = &[
    ("E01", "HW"),
    ("E0101", "ZFJ"),
    ("E0110", "SZ-ROAD"),
    ("E0111", "SZ"),
    ("E0116", "ZFJ"),
    ("E02", "ZFJ"),
    ("E03", "ZJ"),
    ("E04", "SZ"),
    ("E0402", "SW"),
    ("E0403", "RQ"),
    ("E0408", "TX"),
    ("E05", "ZFJ"),
    ("E0505", "JJ"),
    ("C01", "SZ"),
    ("C0101", "SW"),
    ("C0132", "SW"),
    ("C0105", "GD"),
    ("C0116", "GD"),
    ("C0133", "GD"),
    ("C0134", "GD"),
    ("C0111", "RQ"),
    ("C0135", "RQ"),
    ("C0107", "TX"),
    ("C0108", "TX"),
    ("C0109", "TX"),
    ("C0115", "TX"),
    ("C02", "JT"),
    ("C0210", "JJ"),
    ("C0214", "JJ"),
    ("C03", "HW"),
    ("C0306", "ZFJ"),
    ("C0307", "ZFJ"),
    ("C04", "YL"),
    ("C05", "ZJ"),
    ("C06", "ZJ"),
];

/// A generic limit per major class for classes without a sample row: emergencies and missing
/// manhole covers run in hours, appearance problems in working hours, repairs in working days.
fn demo_limit(class: &cityloop_domain::taxonomy::ClassRef) -> &'static str {
    use cityloop_domain::taxonomy::ClassKind::*;
    match (class.kind, class.major()) {
        (Event, "04") => "4自然小时",
        (Event, "05") => "2个工作小时",
        (Event, "01" | "02") => "1个工作日",
        (Event, _) => "3个工作日",
        (Component, "01") if class.code() <= "0114" => "4个工作小时",
        (Component, "01" | "02") => "3个工作日",
        (Component, _) => "5个工作日",
    }
}

const STEP_RULES: &str = "demo.rules";

impl App {
    /// Publishes a demo rule set (effective a year back) built from the sample rows of a real city
    /// for the classes they cover and generic limits elsewhere, with a responsibility matrix for the
    /// demo district. Demo data: every city imports its own table.
    pub(crate) async fn seed_demo_rules(&self) -> AppResult<()> {
        use cityloop_domain::responsibility::{ClassSelector, MatrixEntry, TimeWindow};
        use cityloop_domain::rules::{FilingCondition, RuleSetContent, SAMPLE_RULES_CSV};
        use cityloop_domain::taxonomy::{ClassKind, ClassRef};

        let actor = Actor::System("demo".into());
        let ctx = Ctx::default();
        let classes = self.list_classes(&actor, &ctx).await?;
        let mut conditions = Vec::new();
        // City A's event rows use the national 4-digit numbering; city B's 2-digit local codes are skipped.
        let mut reader = csv::Reader::from_reader(SAMPLE_RULES_CSV.as_bytes());
        for rec in reader.records().flatten() {
            let field = |i: usize| rec.get(i).unwrap_or_default().to_owned();
            let Ok(class) = ClassRef::new(ClassKind::Event, &field(0)) else {
                continue;
            };
            let unit = match field(4).as_str() {
                "working_hours" => "个工作小时",
                "working_days" => "个工作日",
                "calendar_hours" => "个自然小时",
                _ => "个自然日",
            };
            let Ok(limit) = format!("{}{unit}", field(3)).parse() else {
                continue;
            };
            conditions.push(FilingCondition {
                class,
                condition: field(2),
                limit,
                closing: field(5),
                department: None,
                area_class: None,
                note: format!("示例数据 ({})", field(6)),
            });
        }
        for c in classes.iter().filter(|c| c.class.enabled) {
            if conditions
                .iter()
                .any(|fc: &FilingCondition| fc.class == c.class.class)
            {
                continue;
            }
            let Ok(limit) = demo_limit(&c.class.class).parse() else {
                continue;
            };
            conditions.push(FilingCondition {
                class: c.class.class,
                condition: format!("发现{}问题", c.class.name),
                limit,
                closing: "问题已处置，现场核查通过".into(),
                department: None,
                area_class: None,
                note: "示例数据".into(),
            });
        }
        conditions.sort_by_key(|c| c.class);
        let mut matrix = Vec::new();
        for (sel, dept) in DEMO_MATRIX {
            let Ok(class) = sel.parse::<ClassSelector>() else {
                continue;
            };
            matrix.push(MatrixEntry::new(class, *dept));
        }
        // Anything else goes to the street office of the street it is in.
        for (scode, _, _) in STREETS {
            let street = cityloop_domain::AreaCode::parse(&format!("{}{scode}", DISTRICT.0))?;
            let mut fallback = MatrixEntry::new(ClassSelector::Any, format!("JD-{scode}"));
            fallback.areas = vec![street.clone()];
            matrix.push(fallback);
            // Bicycles are the street's job, with the traffic police assisting.
            if let Ok(class) = "E0506".parse::<ClassSelector>() {
                let mut bikes = MatrixEntry::new(class, format!("JD-{scode}"));
                bikes.areas = vec![street];
                bikes.assisting = vec!["JJ".into()];
                matrix.push(bikes);
            }
        }
        if let (Ok(class), Some(start), Some(end)) = (
            "E0102".parse::<ClassSelector>(),
            chrono::NaiveTime::from_hms_opt(22, 0, 0),
            chrono::NaiveTime::from_hms_opt(6, 0, 0),
        ) && let Ok(window) = TimeWindow::new(start, end)
        {
            let mut night = MatrixEntry::new(class, "HW-CLEAN");
            night.window = Some(window);
            night.note = "夜间保洁".into();
            matrix.push(night);
        }
        let content = RuleSetContent {
            conditions,
            matrix,
            ..RuleSetContent::default()
        };
        let draft = self
            .create_draft(&actor, "临江区立案结案标准（演示）", None, &ctx)
            .await?;
        let set = self
            .edit_draft(
                &actor,
                draft.record.id,
                draft.record.version,
                &ctx,
                "rule_set.demo",
                |c| {
                    *c = content;
                    Ok(())
                },
            )
            .await?;
        let year_ago = (self.now() - chrono::Duration::days(366))
            .with_timezone(&cityloop_domain::calendar::CHINA_OFFSET)
            .date_naive();
        self.publish_rule_set(&actor, set.record.id, year_ago, set.record.version, &ctx)
            .await?;
        Ok(())
    }
}

const STEP_CITY: &str = "demo.city";

/// Which department owns components of each kind in the demo district.
fn owner_department(owner: cityloop_synth::OwnerKind) -> &'static str {
    use cityloop_synth::OwnerKind as O;
    match owner {
        O::Water => "SW",
        O::Sewage => "SZ-DRAIN",
        O::Power => "GD",
        O::Telecom => "TX",
        O::Gas => "RQ",
        O::Parks | O::Sports => "YL",
        O::Sanitation => "HW",
        O::Traffic | O::PublicSecurity => "JJ",
        O::Transport => "JT",
        O::Publicity | O::UrbanManagement => "ZFJ",
        O::Construction => "ZJ",
        _ => "SZ",
    }
}

/// What was generated for the demo city.
#[derive(Debug, Clone, Default)]
pub struct CitySummary {
    pub grids: usize,
    pub components: usize,
    pub addresses: usize,
    pub responsibility_grids: usize,
}

impl App {
    /// Generates the synthetic demo city (streets, unit grids, components, addresses, responsibility
    /// grids with the demo inspectors) into the database. Deterministic for a given spec.
    pub async fn seed_demo_city(&self, spec: &cityloop_synth::CitySpec) -> AppResult<CitySummary> {
        use cityloop_store::{AddressNew, ComponentUpsert, GridUpsert, ResponsibilityGrid};

        let actor = Actor::System("demo".into());
        let ctx = Ctx::default();
        let city = cityloop_synth::try_generate(spec).map_err(|e| {
            AppError::Invalid(cityloop_domain::FieldError::new("city", e.to_string()))
        })?;
        let now = self.now();
        // Streets and communities the organisation step did not create (larger cities have more).
        let existing: Vec<String> = {
            let mut tx = self.store.read().await?;
            tx.list_areas().await?.into_iter().map(|a| a.code).collect()
        };
        for area in std::iter::once(&city.district)
            .chain(&city.streets)
            .chain(&city.communities)
        {
            if !existing.contains(&area.code) {
                self.create_area(
                    &actor,
                    AreaInput {
                        code: area.code.clone(),
                        name: area.name.clone(),
                        name_en: None,
                    },
                    &ctx,
                )
                .await?;
            }
        }
        let inspectors: Vec<(String, i64)> = {
            let mut tx = self.store.read().await?;
            tx.list_users(&cityloop_store::UserQuery {
                role: Some(Role::Inspector),
                ..Default::default()
            })
            .await?
            .into_iter()
            .flat_map(|u| {
                u.areas
                    .iter()
                    .map(|a| (a.clone(), u.id))
                    .collect::<Vec<_>>()
            })
            .collect()
        };
        let mut summary = CitySummary::default();
        let mut tx = self.store.write().await?;
        for area in std::iter::once(&city.district)
            .chain(&city.streets)
            .chain(&city.communities)
        {
            let geometry = geojson::Geometry::from(&area.polygon).to_string();
            tx.set_area_geometry(&area.code, Some(&geometry), now)
                .await?;
        }
        let grids: Vec<GridUpsert> = city
            .grids
            .iter()
            .map(|g| {
                use geo::BoundingRect;
                let rect = g.polygon.bounding_rect();
                GridUpsert {
                    code: g.code.clone(),
                    community_code: g.community_code.clone(),
                    name: None,
                    area_m2: (g.area_m2 * 10.0).round() / 10.0,
                    geometry: geojson::Geometry::from(&g.polygon).to_string(),
                    bbox: rect
                        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
                        .unwrap_or_default(),
                    raw: None,
                    now,
                }
            })
            .collect();
        summary.grids = grids.len();
        tx.upsert_grids(&grids).await?;
        for r in &city.responsibility {
            let inspector_ids = inspectors
                .iter()
                .filter(|(area, _)| {
                    r.street_code.starts_with(area.as_str()) || area.starts_with(&r.street_code)
                })
                .map(|(_, id)| *id)
                .collect();
            tx.put_responsibility_grid(
                &ResponsibilityGrid {
                    code: r.code.clone(),
                    name: r.name.clone(),
                    street_code: r.street_code.clone(),
                    grid_codes: r.grid_codes.clone(),
                    inspector_ids,
                },
                now,
            )
            .await?;
        }
        summary.responsibility_grids = city.responsibility.len();
        let mut batch = Vec::with_capacity(5000);
        let names: std::collections::HashMap<&str, &str> = cityloop_synth::COMPONENT_CLASSES
            .iter()
            .map(|c| (c.code, c.name))
            .collect();
        for c in cityloop_synth::components(spec, &city) {
            let dept = owner_department(c.owner);
            batch.push(ComponentUpsert {
                name: names
                    .get(c.class_code.as_str())
                    .copied()
                    .unwrap_or("部件")
                    .to_owned(),
                id: c.id,
                class_code: c.class_code,
                grid_code: Some(c.grid_code),
                state: c.state.code().to_owned(),
                dept_supervisor: Some(dept.to_owned()),
                dept_owner: Some(dept.to_owned()),
                dept_maintainer: Some(dept.to_owned()),
                lon: c.lon,
                lat: c.lat,
                geometry: None,
                raw: None,
                initial_date: None,
                change_date: None,
                data_source: Some("示例数据".into()),
                note: c.road.map(|r| format!("位于{r}")),
                attributes: json!({}),
                now,
            });
            if batch.len() == 5000 {
                summary.components += batch.len();
                tx.upsert_components(&batch).await?;
                batch.clear();
            }
        }
        summary.components += batch.len();
        tx.upsert_components(&batch).await?;
        let mut seen = std::collections::HashSet::new();
        let addresses: Vec<AddressNew> = city
            .addresses
            .iter()
            .filter(|a| seen.insert(a.text.clone()))
            .map(|a| AddressNew {
                text: a.text.clone(),
                normalized: a.text.clone(),
                road: a.road.clone(),
                number: Some(i64::from(a.number)),
                lon: a.lon,
                lat: a.lat,
                community_code: Some(a.community_code.clone()),
                grid_code: None,
                source: "demo".into(),
                now,
            })
            .collect();
        summary.addresses = addresses.len();
        tx.upsert_addresses(&addresses).await?;
        self.bump_spatial_revision(tx.as_mut()).await?;
        self.audit(
            tx.as_mut(),
            &actor,
            "demo.city",
            Obj::kind("base_data"),
            "ok",
            &ctx,
            json!({ "grids": summary.grids, "components": summary.components, "addresses": summary.addresses }),
        )
        .await?;
        tx.set_meta(
            STEP_CITY,
            &json!({ "seed": spec.seed, "grids": summary.grids }).to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        self.reload_spatial().await?;
        Ok(summary)
    }

    /// Whether the demo city has been generated already.
    pub async fn demo_city_seeded(&self) -> AppResult<bool> {
        let mut tx = self.store.read().await?;
        Ok(tx.get_meta(STEP_CITY).await?.is_some())
    }
}
