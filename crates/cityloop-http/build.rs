//! Installs the pinned third-party front-end libraries from `web/package-lock.json` with npm and
//! copies their pre-built files into `web/static/vendor/` (git-ignored), which the web UI embeds.
//! Third-party code is never committed; the lockfile with its integrity hashes is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// (package, file inside the package, name under vendor/)
const FILES: &[(&str, &str, &str)] = &[
    ("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
    ("leaflet", "dist/leaflet.js", "leaflet.js"),
    ("leaflet", "dist/leaflet.css", "leaflet.css"),
    ("leaflet", "dist/images/layers.png", "images/layers.png"),
    (
        "leaflet",
        "dist/images/layers-2x.png",
        "images/layers-2x.png",
    ),
    (
        "leaflet",
        "dist/images/marker-icon.png",
        "images/marker-icon.png",
    ),
    (
        "leaflet",
        "dist/images/marker-icon-2x.png",
        "images/marker-icon-2x.png",
    ),
    (
        "leaflet",
        "dist/images/marker-shadow.png",
        "images/marker-shadow.png",
    ),
    (
        "leaflet.markercluster",
        "dist/leaflet.markercluster.js",
        "leaflet.markercluster.js",
    ),
    (
        "leaflet.markercluster",
        "dist/MarkerCluster.css",
        "MarkerCluster.css",
    ),
    (
        "leaflet.markercluster",
        "dist/MarkerCluster.Default.css",
        "MarkerCluster.Default.css",
    ),
    // The "common" build (line, bar, pie with titles, tooltips and legends) keeps the command
    // centre under 1 MB of JavaScript; the full build alone is 1.1 MB.
    (
        "echarts",
        "dist/echarts.common.min.js",
        "echarts.common.min.js",
    ),
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let lock = web.join("package-lock.json");
    println!(
        "cargo:rerun-if-changed={}",
        web.join("package.json").display()
    );
    println!("cargo:rerun-if-changed={}", lock.display());
    let vendor = web.join("static/vendor");
    // Deleting the vendor folder (or one file of it) must bring it back.
    println!(
        "cargo:rerun-if-changed={}",
        vendor.join("VERSIONS").display()
    );
    for (_, _, to) in FILES {
        println!("cargo:rerun-if-changed={}", vendor.join(to).display());
    }

    let modules = web.join("node_modules");
    if needs_install(&modules, &lock) {
        npm_ci(&web);
    }
    for (package, from, to) in FILES {
        let src = modules.join(package).join(from);
        let dst = vendor.join(to);
        if let Some(dir) = dst.parent() {
            fs::create_dir_all(dir).unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())));
        }
        // Copy only when different, so that an unchanged vendor file keeps its mtime and does not
        // trigger a rebuild of the embedding crate.
        let bytes = fs::read(&src).unwrap_or_else(|e| {
            fail(&format!(
                "{} is missing ({e}); delete web/node_modules and rebuild",
                src.display()
            ))
        });
        if fs::read(&dst).ok().as_deref() != Some(&bytes[..]) {
            fs::write(&dst, &bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", dst.display())));
        }
    }
    let versions = versions_of(&lock);
    let path = vendor.join("VERSIONS");
    if fs::read_to_string(&path).ok().as_deref() != Some(versions.as_str()) {
        fs::write(&path, versions).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// npm writes `node_modules/.package-lock.json` on every install; older than the lockfile (or
/// absent) means the installed tree may not match it.
fn needs_install(modules: &Path, lock: &Path) -> bool {
    let installed = mtime(&modules.join(".package-lock.json"));
    let wanted = mtime(lock);
    let all_there = FILES
        .iter()
        .all(|(package, from, _)| modules.join(package).join(from).exists());
    !all_there || installed.is_none() || installed < wanted
}

fn npm_ci(web: &Path) {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(npm).is_file()))
        .unwrap_or(false);
    if !found {
        fail(
            "building the web UI needs Node.js and npm (used to install the pinned front-end \
             libraries from web/package-lock.json). Install them (Debian: apt-get install nodejs \
             npm) and rebuild.",
        );
    }
    let out = Command::new(npm)
        .args([
            "ci",
            "--omit=dev",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
        ])
        .current_dir(web)
        .output()
        .unwrap_or_else(|e| fail(&format!("running npm: {e}")));
    if !out.status.success() {
        fail(&format!(
            "`npm ci` in web/ failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
}

/// `name version` per line for the libraries the UI ships, from the lockfile.
fn versions_of(lock: &Path) -> String {
    let text =
        fs::read_to_string(lock).unwrap_or_else(|e| fail(&format!("{}: {e}", lock.display())));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("{}: {e}", lock.display())));
    let mut names: Vec<&str> = FILES.iter().map(|(p, _, _)| *p).collect();
    names.dedup();
    let mut out = String::new();
    for name in names {
        let version = v["packages"][format!("node_modules/{name}")]["version"]
            .as_str()
            .unwrap_or_else(|| fail(&format!("{name} is not in web/package-lock.json")));
        out.push_str(&format!("{name} {version}\n"));
    }
    out
}

fn fail(message: &str) -> ! {
    eprintln!("cityloop: {message}");
    std::process::exit(1);
}
