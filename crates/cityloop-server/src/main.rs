//! `cityloop`: the one binary. Serves the platform, migrates, seeds the demo city and manages users.

mod bench;
mod bench_evaluation;
mod bench_intake;
mod transfer;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use cityloop_app::{Actor, App, Ctx, SystemClock, UserInput};
use cityloop_domain::Role;
use cityloop_server::backend::Backend;
use cityloop_server::config::{self, Config, DEFAULT_DATABASE_URL, Overrides, redact_url};
use cityloop_store::UserQuery;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cityloop",
    version,
    about = "cityloop 数字城管: digital urban-management platform"
)]
struct Cli {
    /// TOML configuration file (also CITYLOOP_CONFIG).
    #[arg(long, global = true, env = "CITYLOOP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct ServeFlags {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<String>,
    /// sqlite://FILE or postgres://user:password@host/db.
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Args, Clone, Default)]
struct DbFlags {
    /// sqlite://FILE or postgres://user:password@host/db.
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform.
    Serve(ServeFlags),
    /// Seed (or reuse) the demo organisation and city in data/demo.sqlite3 and serve it.
    Demo {
        #[command(flatten)]
        flags: ServeFlags,
        /// Size of the generated city on first run: county-town (~1 000 grids), mid-size (~5 000)
        /// or megacity (~100 000 grids, ~10 million components).
        #[arg(long, default_value = "mid-size")]
        city: String,
    },
    /// Apply pending schema migrations and exit.
    Migrate(DbFlags),
    /// Manage user accounts from the server's shell.
    #[command(subcommand)]
    User(UserCommand),
    /// Copy a live SQLite database into a new file (consistent while the server runs).
    Backup {
        /// Target file; must not exist.
        target: PathBuf,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Filing and closing rules (立结案标准): import, export, check and publish versions.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The working calendar: holidays and adjusted working days.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Import unit grids, components or standard addresses from GeoJSON, Shapefile or CSV.
    Import(ImportArgs),
    /// Export unit grids, components, standard addresses or area boundaries as GeoJSON or CSV.
    Export {
        /// grids, components, addresses or areas
        what: String,
        /// .geojson or .csv
        file: PathBuf,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Measure performance (not part of the test suite).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Partner API keys (Open311 clients, 12345 hotline platforms).
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Print the default configuration file.
    DefaultConfig,
    /// Check the configuration (and that the database is reachable) and exit.
    ConfigTest(DbFlags),
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Issue a key; it is printed once and stored only as a digest.
    Add {
        name: String,
        /// open311 (POST requests and updates) or hotline (the 12345 exchange); repeatable.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Requests per hour.
        #[arg(long, default_value_t = 600)]
        rate_per_hour: i64,
        /// Where 12345 progress is posted.
        #[arg(long)]
        webhook_url: Option<String>,
        #[command(flatten)]
        db: DbFlags,
    },
    /// List keys (never the keys themselves).
    List {
        #[command(flatten)]
        db: DbFlags,
    },
    /// Revoke a key at once.
    Revoke {
        id: i64,
        #[command(flatten)]
        db: DbFlags,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin a random password is generated and printed once.
    Add {
        username: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role code (repeatable): inspector, acceptor, shift_leader, dispatcher, handler, leader,
        /// sys_admin, sec_admin, audit_admin.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Department code.
        #[arg(long)]
        department: Option<String>,
        /// Area code (repeatable).
        #[arg(long = "area")]
        areas: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Set a user's password (and unlock the account).
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbFlags,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: DbFlags,
    },
}

#[derive(Args)]
struct ImportArgs {
    /// grids, components, addresses, or areas (boundaries of existing streets and communities)
    what: String,
    /// .geojson/.json, .shp (with .dbf/.prj/.cpg beside it) or .csv
    file: PathBuf,
    /// The file's coordinate system when it does not declare one (or to override it): wgs84,
    /// cgcs2000, gcj02, bd09, EPSG:4513…4554.
    #[arg(long)]
    crs: Option<String>,
    /// Text encoding of attributes (gbk, gb18030, utf-8); default: .cpg, else detected.
    #[arg(long)]
    encoding: Option<String>,
    /// Field mapping, e.g. code=BGID,name=BGNAME.
    #[arg(long = "map")]
    field_map: Option<String>,
    /// CSV columns holding x and y (default: lon/lng/x/经度 and lat/y/纬度).
    #[arg(long)]
    x: Option<String>,
    #[arg(long)]
    y: Option<String>,
    /// Keep going past bad records and write them to a reject report instead of aborting.
    #[arg(long)]
    skip_invalid: bool,
    /// Where to write the reject report (default: FILE.rejects.csv).
    #[arg(long)]
    reject_report: Option<PathBuf>,
    /// Close unclosed rings and fix ring orientation instead of rejecting the grid.
    #[arg(long)]
    repair: bool,
    /// Digits of the grid serial: 2 (national, 14-digit codes) or 3 (Beijing, 15 digits).
    #[arg(long, default_value_t = 2)]
    grid_serial_digits: u8,
    #[command(flatten)]
    db: DbFlags,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Spatial index on a synthetic city, and PostGIS on the same data with --pg-url.
    Geo {
        #[arg(long, default_value_t = 100_000)]
        grids: u32,
        #[arg(long, default_value_t = 10_000_000)]
        components: u64,
        #[arg(long, default_value_t = 1_000_000)]
        queries: usize,
        /// A PostgreSQL database with PostGIS available, to compare.
        #[arg(long)]
        pg_url: Option<String>,
        /// Points loaded into PostGIS for its nearest-neighbour query.
        #[arg(long, default_value_t = 5_000_000)]
        pg_points: usize,
    },
    /// Case intake: acknowledged (durable) reports per second and latency with many concurrent
    /// reporters, on a fresh demo county town.
    Intake {
        /// `sqlite` (a fresh temporary file) or the URL of an empty PostgreSQL database.
        #[arg(long, default_value = "sqlite")]
        database: String,
        #[arg(long, default_value_t = 256)]
        clients: usize,
        #[arg(long, default_value_t = 100_000)]
        reports: usize,
        /// Through the HTTP API (with its JSON, auth and routing) instead of the use case.
        #[arg(long)]
        http: bool,
    },
    /// League tables (every object kind) for a month and a year, on the rollups of a simulated
    /// history of `--per-day` × `--days` cases on the demo city.
    Evaluation {
        /// `sqlite` (a fresh temporary file) or the URL of an empty PostgreSQL database.
        #[arg(long, default_value = "sqlite")]
        database: String,
        #[arg(long, default_value_t = 33_334)]
        per_day: u32,
        #[arg(long, default_value_t = 300)]
        days: i64,
        /// Timed repetitions of each query.
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List rule set versions.
    List {
        #[command(flatten)]
        db: DbFlags,
    },
    /// Import a rules table (.csv or .xlsx, local layout) into a draft; prints every bad row.
    Import {
        file: PathBuf,
        /// component or event, for rows and sheets that do not say.
        #[arg(long)]
        kind: Option<String>,
        /// Import into this draft (default: a new draft copied from the rule set in force).
        #[arg(long)]
        draft: Option<i64>,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Export a rule set (default: the one in force) to FILE (.xlsx or .csv).
    Export {
        file: PathBuf,
        #[arg(long)]
        id: Option<i64>,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Check a rules file (nothing is stored), or with --id a draft, and print the findings.
    Validate {
        file: Option<PathBuf>,
        #[arg(long)]
        id: Option<i64>,
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Publish a draft from a date (YYYY-MM-DD, today or later).
    Publish {
        id: i64,
        #[arg(long)]
        effective_from: chrono::NaiveDate,
        #[command(flatten)]
        db: DbFlags,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Show the loaded years and the special days of a year.
    List {
        #[arg(long)]
        year: Option<i32>,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Import a holiday CSV (date,kind,festival), e.g. next year's State Council schedule.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Mark a date as a holiday or an adjusted working day (workday).
    Set {
        date: chrono::NaiveDate,
        /// holiday or workday
        kind: String,
        #[arg(long, default_value = "")]
        festival: String,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Make a date an ordinary day again.
    Unset {
        date: chrono::NaiveDate,
        #[command(flatten)]
        db: DbFlags,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cityloop: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("cityloop: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn load(cli_config: &Option<PathBuf>, o: Overrides) -> anyhow::Result<Config> {
    Ok(Config::load(cli_config.as_deref(), &o)?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::DefaultConfig => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::ConfigTest(db) => {
            let cfg = load(&cli.config, db_overrides(&db))?;
            let backend = Backend::open(&cfg.database).await.context("database")?;
            let pending = backend.pending_migrations().await?;
            let store = backend.store();
            println!(
                "configuration ok; database {} ({}), schema version {}, {} migration(s) pending",
                redact_url(&cfg.database.url),
                store.engine().as_str(),
                store.schema_version().await?,
                pending.len()
            );
            store.close().await;
            Ok(())
        }
        Command::Migrate(db) => {
            let cfg = load(&cli.config, db_overrides(&db))?;
            let backend = Backend::open(&cfg.database).await.context("database")?;
            let pending = backend.pending_migrations().await?;
            backend.migrate().await.context("migration")?;
            println!(
                "applied {} migration(s); schema version {}",
                pending.len(),
                backend.store().schema_version().await?
            );
            backend.store().close().await;
            Ok(())
        }
        Command::Serve(flags) => {
            let cfg = load(&cli.config, serve_overrides(&flags))?;
            init_tracing(&cfg);
            let app = open_app(&cfg).await?;
            serve(&cfg, app).await
        }
        Command::Demo { flags, city } => {
            let spec = match city.as_str() {
                "county-town" => cityloop_synth::CitySpec::county_town(),
                "mid-size" => cityloop_synth::CitySpec::mid_size(),
                "megacity" => cityloop_synth::CitySpec::megacity(),
                other => {
                    anyhow::bail!("--city: `{other}` is none of county-town, mid-size, megacity")
                }
            };
            let mut o = serve_overrides(&flags);
            let mut cfg = load(&cli.config, o.clone())?;
            if cfg.database.url == DEFAULT_DATABASE_URL {
                o.database_url = Some("sqlite://data/demo.sqlite3".into());
                cfg = load(&cli.config, o)?;
            }
            init_tracing(&cfg);
            let app = open_app(&cfg).await?;
            let mut report = app.seed_demo().await.context("seeding the demo")?;
            if !app.demo_city_seeded().await? {
                println!(
                    "generating the demo city (about {} unit grids, ~100 components each) …",
                    spec.grids_target
                );
                let city = app
                    .seed_demo_city(&spec)
                    .await
                    .context("generating the demo city")?;
                println!(
                    "demo city: {} unit grids, {} components, {} addresses, {} responsibility grids",
                    city.grids, city.components, city.addresses, city.responsibility_grids
                );
                report.seeded.push("demo.city");
            }
            if !app.has_cases().await? {
                println!("simulating a year of cases on the demo city …");
                let t = std::time::Instant::now();
                let cases = app
                    .seed_demo_cases(365, 200, 2026)
                    .await
                    .context("generating the demo cases")?;
                println!(
                    "demo history: {} cases ({} still open), {} events, {} to {}, in {:.1} s",
                    cases.cases,
                    cases.open,
                    cases.events,
                    cases.from.map(|d| d.to_string()).unwrap_or_default(),
                    cases.to.map(|d| d.to_string()).unwrap_or_default(),
                    t.elapsed().as_secs_f64()
                );
                report.seeded.push("demo.cases");
            }
            print_demo(&cfg, &report);
            cfg.server.demo_logins = Some(demo_logins(&report));
            serve(&cfg, app).await
        }
        Command::Backup { target, db } => {
            let cfg = load(&cli.config, db_overrides(&db))?;
            match Backend::open(&cfg.database).await.context("database")? {
                Backend::Sqlite(s) => {
                    let target = target.to_string_lossy().to_string();
                    s.backup(&target).await?;
                    println!("backup written to {target}");
                    Ok(())
                }
                Backend::Postgres(_) => {
                    anyhow::bail!("backup of PostgreSQL is done with pg_basebackup or pg_dump")
                }
            }
        }
        Command::User(cmd) => user_command(&cli.config, cmd).await,
        Command::Partner(cmd) => partner_command(&cli.config, cmd).await,
        Command::Rules(cmd) => rules_command(&cli.config, cmd).await,
        Command::Import(args) => transfer::import(&cli.config, args).await,
        Command::Export { what, file, db } => {
            transfer::export(&cli.config, &what, &file, &db).await
        }
        Command::Bench(BenchCommand::Geo {
            grids,
            components,
            queries,
            pg_url,
            pg_points,
        }) => {
            bench::geo(bench::GeoBenchArgs {
                grids,
                components,
                queries,
                pg_url,
                pg_points,
            })
            .await
        }
        Command::Bench(BenchCommand::Intake {
            database,
            clients,
            reports,
            http,
        }) => {
            bench_intake::intake(bench_intake::IntakeBenchArgs {
                database,
                clients,
                reports,
                http,
            })
            .await
        }
        Command::Bench(BenchCommand::Evaluation {
            database,
            per_day,
            days,
            runs,
        }) => {
            bench_evaluation::evaluation(bench_evaluation::EvaluationBenchArgs {
                database,
                per_day,
                days,
                runs,
            })
            .await
        }
        Command::Calendar(cmd) => calendar_command(&cli.config, cmd).await,
    }
}

fn serve_overrides(f: &ServeFlags) -> Overrides {
    Overrides {
        listen: f.listen.clone(),
        database_url: f.database_url.clone(),
    }
}

pub(crate) fn db_overrides(f: &DbFlags) -> Overrides {
    Overrides {
        listen: None,
        database_url: f.database_url.clone(),
    }
}

fn init_tracing(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("{},sqlx=warn,sqlx::query=error", cfg.log.level))
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _already = if cfg.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub(crate) async fn open_app(cfg: &Config) -> anyhow::Result<Arc<App>> {
    cityloop_server::open_app(cfg, Arc::new(SystemClock)).await
}

async fn serve(cfg: &Config, app: Arc<App>) -> anyhow::Result<()> {
    let engine = app.store().engine().as_str();
    let running = cityloop_server::start(cfg, app).await?;
    println!(
        "cityloop listening on http://{}  (engine: {engine})",
        running.addr
    );
    tracing::info!(addr = %running.addr, engine, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn demo_logins(report: &cityloop_app::demo::DemoReport) -> cityloop_http::DemoLogins {
    let names = |f: fn(Role) -> &'static str, roles: &[Role]| {
        roles.iter().map(|r| f(*r)).collect::<Vec<_>>().join(", ")
    };
    cityloop_http::DemoLogins {
        password: cityloop_app::demo::DEMO_PASSWORD.to_owned(),
        accounts: report
            .accounts
            .iter()
            .map(|a| cityloop_http::DemoLogin {
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                roles_zh: names(Role::name_zh, &a.roles),
                roles_en: names(Role::name_en, &a.roles),
                department: a.department.clone(),
            })
            .collect(),
    }
}

fn print_demo(cfg: &Config, report: &cityloop_app::demo::DemoReport) {
    let url = format!("http://{}", cfg.server.listen);
    if report.seeded.is_empty() {
        println!("demo database reused: {}", redact_url(&cfg.database.url));
    } else {
        println!(
            "demo seeded ({}) into {}",
            report.seeded.join(", "),
            redact_url(&cfg.database.url)
        );
    }
    println!();
    println!("  cityloop demo: {url}");
    println!("  API docs:      {url}/api/docs");
    println!();
    println!(
        "  demo accounts (password for all: {})",
        cityloop_app::demo::DEMO_PASSWORD
    );
    for a in &report.accounts {
        let roles: Vec<String> = a
            .roles
            .iter()
            .map(|r| format!("{} {}", r.name_zh(), r.as_str()))
            .collect();
        println!(
            "    {:<14} {:<10} {:<24} {}",
            a.username,
            a.display_name,
            roles.join(", "),
            a.department.as_deref().unwrap_or("-")
        );
    }
    println!(
        "    handler-<department code>, e.g. handler-zfj, handler-jt: 处置人员 of every other department"
    );
    println!();
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let p = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!p.is_empty(), "no password on standard input");
        Ok((p, false))
    } else {
        Ok((cityloop_app::generate_password(), true))
    }
}

async fn user_command(config: &Option<PathBuf>, cmd: UserCommand) -> anyhow::Result<()> {
    let db = match &cmd {
        UserCommand::Add { db, .. } | UserCommand::Passwd { db, .. } | UserCommand::List { db } => {
            db.clone()
        }
    };
    let cfg = load(config, db_overrides(&db))?;
    let app = open_app(&cfg).await?;
    let operator = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let actor = Actor::System(format!("cli:{operator}"));
    let ctx = Ctx::default();
    let result = match cmd {
        UserCommand::Add {
            username,
            name,
            roles,
            department,
            areas,
            password_stdin,
            ..
        } => {
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--role: {}", e.message))?;
            let (password, generated) = read_password(password_stdin)?;
            let user = app
                .create_user(
                    &actor,
                    UserInput {
                        username,
                        display_name: name,
                        phone: None,
                        department_code: department,
                        areas,
                        roles,
                        password: password.clone(),
                        must_change_password: generated,
                    },
                    &ctx,
                )
                .await
                .map_err(cli_error)?;
            println!("created user {} (id {})", user.username, user.id);
            if generated {
                print_generated(&password);
            }
            Ok(())
        }
        UserCommand::Passwd {
            username,
            password_stdin,
            ..
        } => {
            let user = app
                .find_user_by_name(&actor, &username, &ctx)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user {username}"))?;
            let (password, generated) = read_password(password_stdin)?;
            app.reset_password(&actor, user.id, &password, &ctx)
                .await
                .map_err(cli_error)?;
            app.unlock_user(&actor, user.id, &ctx)
                .await
                .map_err(cli_error)?;
            println!("password of {username} set; the account is unlocked");
            if generated {
                print_generated(&password);
            }
            Ok(())
        }
        UserCommand::List { .. } => {
            let users = app
                .list_users(&actor, &UserQuery::default(), &ctx)
                .await
                .map_err(cli_error)?;
            for u in users {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                println!(
                    "{:<6} {:<16} {:<12} {:<8} {}",
                    u.id,
                    u.username,
                    u.display_name,
                    if u.active { "active" } else { "disabled" },
                    roles.join(",")
                );
            }
            Ok(())
        }
    };
    app.store().close().await;
    result
}

fn print_generated(password: &str) {
    if std::io::stdout().is_terminal() {
        println!("generated password (shown once): {password}");
    } else {
        println!("{password}");
    }
}

async fn partner_command(config: &Option<PathBuf>, cmd: PartnerCommand) -> anyhow::Result<()> {
    let db = match &cmd {
        PartnerCommand::Add { db, .. }
        | PartnerCommand::List { db }
        | PartnerCommand::Revoke { db, .. } => db.clone(),
    };
    let cfg = load(config, db_overrides(&db))?;
    let app = open_app(&cfg).await?;
    let actor = system_actor();
    let ctx = Ctx::default();
    let result = match cmd {
        PartnerCommand::Add {
            name,
            scopes,
            rate_per_hour,
            webhook_url,
            ..
        } => app
            .create_partner_key(
                &actor,
                cityloop_app::public::PartnerKeyInput {
                    name,
                    scopes,
                    rate_per_hour,
                    webhook_url,
                },
                &ctx,
            )
            .await
            .map(|k| {
                println!("partner {} ({}): {}", k.partner.id, k.partner.name, k.key);
                println!("Keep the key now; it is not shown again.");
            }),
        PartnerCommand::List { .. } => app.list_partner_keys(&actor, &ctx).await.map(|keys| {
            for k in keys {
                println!(
                    "{}\t{}\t{}…\t{}\t{}/h\t{}",
                    k.id,
                    k.name,
                    k.key_prefix,
                    k.scopes.join(","),
                    k.rate_per_hour,
                    if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }),
        PartnerCommand::Revoke { id, .. } => app
            .revoke_partner_key(&actor, id, &ctx)
            .await
            .map(|()| println!("partner key {id} revoked")),
    };
    app.store().close().await;
    result.map_err(cli_error)
}

fn cli_error(e: cityloop_app::AppError) -> anyhow::Error {
    match e {
        cityloop_app::AppError::Invalid(f) => anyhow::anyhow!("{}: {}", f.field, f.message),
        other => anyhow::anyhow!("{other}"),
    }
}

pub(crate) fn system_actor() -> Actor {
    let operator = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    Actor::System(format!("cli:{operator}"))
}

fn parse_kind(kind: Option<&str>) -> anyhow::Result<Option<cityloop_domain::taxonomy::ClassKind>> {
    kind.map(|k| {
        k.parse()
            .map_err(|e: cityloop_domain::FieldError| anyhow::anyhow!("--kind: {}", e.message))
    })
    .transpose()
}

/// Prints every rejected row on its own line, then fails.
fn rows_error(e: cityloop_app::AppError) -> anyhow::Error {
    match e {
        cityloop_app::AppError::Rows(rows) => {
            for r in &rows {
                eprintln!("{r}");
            }
            anyhow::anyhow!("{} row(s) rejected; nothing was stored", rows.len())
        }
        other => cli_error(other),
    }
}

async fn rules_command(config: &Option<PathBuf>, cmd: RulesCommand) -> anyhow::Result<()> {
    let db = match &cmd {
        RulesCommand::List { db }
        | RulesCommand::Import { db, .. }
        | RulesCommand::Export { db, .. }
        | RulesCommand::Validate { db, .. }
        | RulesCommand::Publish { db, .. } => db.clone(),
    };
    let cfg = load(config, db_overrides(&db))?;
    let app = open_app(&cfg).await?;
    let actor = system_actor();
    let ctx = Ctx::default();
    let result = async {
        match cmd {
            RulesCommand::List { .. } => {
                for r in app.list_rule_sets(&actor, &ctx).await.map_err(cli_error)? {
                    println!(
                        "id {:<4} v{:<3} {:<9} {:<10} {}",
                        r.id,
                        r.number,
                        r.status,
                        r.effective_from.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                        r.name
                    );
                }
                Ok(())
            }
            RulesCommand::Import { file, kind, draft, name, .. } => {
                let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
                let set = app
                    .import_rules(
                        &actor,
                        cityloop_app::standards::ImportRequest {
                            file_name: file.display().to_string(),
                            bytes,
                            default_kind: parse_kind(kind.as_deref())?,
                            draft_id: draft,
                            name,
                        },
                        &ctx,
                    )
                    .await
                    .map_err(rows_error)?;
                println!(
                    "draft id {} (v{}) now has {} filing conditions; check it with `cityloop rules validate --id {}`",
                    set.record.id,
                    set.record.number,
                    set.content.conditions.len(),
                    set.record.id
                );
                Ok(())
            }
            RulesCommand::Export { file, id, .. } => {
                let id = match id {
                    Some(id) => id,
                    None => {
                        app.rule_set_in_force(&actor, app.now(), &ctx)
                            .await?
                            .ok_or_else(|| anyhow::anyhow!("no rule set is in force; give --id"))?
                            .record
                            .id
                    }
                };
                let xlsx = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
                let bytes = app.export_rule_set(&actor, id, xlsx, &ctx).await.map_err(cli_error)?;
                std::fs::write(&file, bytes).with_context(|| format!("{}", file.display()))?;
                println!("rule set {id} written to {}", file.display());
                Ok(())
            }
            RulesCommand::Validate { file, id, kind, .. } => match (file, id) {
                (Some(file), None) => {
                    let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
                    let conditions = app
                        .check_rules_file(&actor, &file.display().to_string(), &bytes, parse_kind(kind.as_deref())?, &ctx)
                        .await
                        .map_err(rows_error)?;
                    println!("{}: {} filing conditions, no errors", file.display(), conditions.len());
                    Ok(())
                }
                (None, Some(id)) => {
                    let check = app.check_rule_set(&actor, id, &ctx).await.map_err(cli_error)?;
                    for e in &check.rules.errors {
                        println!("error: {e}");
                    }
                    for w in &check.rules.warnings {
                        println!("warning: {w}");
                    }
                    for g in &check.matrix.gaps {
                        println!("warning: no responsible department for {} in {}", g.class, g.area);
                    }
                    for c in &check.matrix.conflicts {
                        println!("warning: matrix entries {} and {} conflict: {}", c.a, c.b, c.reason);
                    }
                    println!(
                        "{} error(s); changes against the rules in force: {} added, {} removed, {} changed",
                        check.rules.errors.len(),
                        check.diff.added.len(),
                        check.diff.removed.len(),
                        check.diff.changed.len()
                    );
                    anyhow::ensure!(check.rules.errors.is_empty(), "rule set {id} cannot be published yet");
                    Ok(())
                }
                _ => anyhow::bail!("give either a FILE or --id"),
            },
            RulesCommand::Publish { id, effective_from, .. } => {
                let version = app.get_rule_set(&actor, id, &ctx).await.map_err(cli_error)?.record.version;
                let (published, check) = app
                    .publish_rule_set(&actor, id, effective_from, version, &ctx)
                    .await
                    .map_err(rows_error)?;
                for g in &check.matrix.gaps {
                    println!("warning: no responsible department for {} in {}", g.class, g.area);
                }
                println!(
                    "rule set {} published as v{}, in force from {effective_from}",
                    published.id, published.number
                );
                Ok(())
            }
        }
    }
    .await;
    app.store().close().await;
    result
}

async fn calendar_command(config: &Option<PathBuf>, cmd: CalendarCommand) -> anyhow::Result<()> {
    use cityloop_domain::calendar::{DayKind, DayRule};
    let db = match &cmd {
        CalendarCommand::List { db, .. }
        | CalendarCommand::Import { db, .. }
        | CalendarCommand::Set { db, .. }
        | CalendarCommand::Unset { db, .. } => db.clone(),
    };
    let cfg = load(config, db_overrides(&db))?;
    let app = open_app(&cfg).await?;
    let actor = system_actor();
    let ctx = Ctx::default();
    let result = async {
        match cmd {
            CalendarCommand::List { year, .. } => {
                let o = app
                    .calendar_overview(&actor, year, &ctx)
                    .await
                    .map_err(cli_error)?;
                println!(
                    "holiday schedule loaded for {}–{}",
                    o.first_year
                        .map(|y| y.to_string())
                        .unwrap_or_else(|| "-".into()),
                    o.last_year
                        .map(|y| y.to_string())
                        .unwrap_or_else(|| "-".into())
                );
                if let Some(w) = &o.warning {
                    println!("warning: {w}");
                }
                if year.is_some() {
                    for d in &o.days {
                        println!("{} {:<8} {}", d.date, d.kind.as_str(), d.festival);
                    }
                }
                Ok(())
            }
            CalendarCommand::Import { file, .. } => {
                let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
                let n = app
                    .import_calendar(&actor, &file.display().to_string(), &bytes, &ctx)
                    .await
                    .map_err(cli_error)?;
                println!("{n} calendar day(s) imported from {}", file.display());
                Ok(())
            }
            CalendarCommand::Set {
                date,
                kind,
                festival,
                ..
            } => {
                let kind = match kind.as_str() {
                    "holiday" => DayKind::Holiday,
                    "workday" => DayKind::Workday,
                    other => anyhow::bail!("KIND: `{other}` is neither holiday nor workday"),
                };
                app.set_calendar_days(
                    &actor,
                    vec![DayRule {
                        date,
                        kind,
                        festival,
                    }],
                    &ctx,
                )
                .await
                .map_err(cli_error)?;
                println!("{date} set");
                Ok(())
            }
            CalendarCommand::Unset { date, .. } => {
                let found = app
                    .unset_calendar_day(&actor, date, &ctx)
                    .await
                    .map_err(cli_error)?;
                println!(
                    "{date} {}",
                    if found {
                        "is an ordinary day again"
                    } else {
                        "had no rule"
                    }
                );
                Ok(())
            }
        }
    }
    .await;
    app.store().close().await;
    result
}
