//! Photos and files: stored by content hash and fsynced before any case row refers to them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use chrono::FixedOffset;
use cityloop_domain::Action;
use cityloop_domain::Target;
use cityloop_domain::case::Case;
use cityloop_evidence::{BlobStore, Flag, PlausibilityInput};
use cityloop_store::{BlobRecord, CaseRecord};
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

/// Where evidence lives and what is accepted.
#[derive(Debug, Clone)]
pub struct EvidenceConfig {
    /// Blob directory; `None` uses a temporary directory removed on exit (tests).
    pub dir: Option<PathBuf>,
    pub max_bytes: u64,
    /// After-photos further than this from the case are flagged.
    pub max_distance_m: f64,
    /// Unreferenced blobs older than this are removed by the cleanup.
    pub orphan_after_hours: i64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            dir: None,
            max_bytes: 20 * 1024 * 1024,
            max_distance_m: 200.0,
            orphan_after_hours: 48,
        }
    }
}

pub(crate) struct Blobs {
    pub store: BlobStore,
    /// Keeps a temporary directory alive as long as the app.
    _temp: Option<tempfile::TempDir>,
}

impl Blobs {
    pub fn open(cfg: &EvidenceConfig) -> AppResult<Blobs> {
        let (dir, temp) = match &cfg.dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::tempdir()
                    .map_err(|e| AppError::Internal(format!("blob directory: {e}")))?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let store = BlobStore::open_with_max_size(&dir, cfg.max_bytes)
            .map_err(|e| AppError::Internal(format!("blob store {}: {e}", dir.display())))?;
        Ok(Blobs { store, _temp: temp })
    }
}

/// What an upload answers.
#[derive(Debug, Clone, Serialize)]
pub struct UploadedBlob {
    pub hash: String,
    pub size: i64,
    pub media_type: String,
    pub exif: Option<serde_json::Value>,
    pub url: String,
    pub thumbnail_url: String,
}

fn evidence_err(e: cityloop_evidence::EvidenceError) -> AppError {
    use cityloop_evidence::EvidenceError as E;
    match e {
        E::TooLarge { size, max } => AppError::rejected(
            "payload_too_large",
            "body",
            format!("{size} bytes; at most {max}"),
        ),
        E::InvalidHash(h) => {
            AppError::rejected("invalid_hash", "hash", format!("not a blob hash: {h}"))
        }
        E::NotFound(_) => AppError::NotFound("blob"),
        E::Decode(m) => AppError::rejected("undecodable_image", "body", m),
        other => AppError::Internal(other.to_string()),
    }
}

impl App {
    /// Stores an uploaded photo or file: bytes first (fsynced), then its row.
    pub async fn upload_blob(
        &self,
        actor: &Actor,
        bytes: Vec<u8>,
        ctx: &Ctx,
    ) -> AppResult<UploadedBlob> {
        self.authorize(
            actor,
            Action::EvidenceUpload,
            &Target::Collection,
            Obj::kind("blob"),
            ctx,
        )
        .await?;
        if bytes.is_empty() {
            return Err(AppError::rejected(
                "empty_body",
                "body",
                "the upload is empty",
            ));
        }
        let store = self.blobs.store.clone();
        let (info, dhash) = tokio::task::spawn_blocking(move || {
            let info = store.put(&bytes)?;
            let dhash = if info.media_type.is_image() {
                cityloop_evidence::dhash(&bytes)
            } else {
                None
            };
            Ok::<_, cityloop_evidence::EvidenceError>((info, dhash))
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(evidence_err)?;
        let exif = info
            .exif
            .as_ref()
            .and_then(|e| serde_json::to_value(e).ok());
        let media_type = serde_json::to_value(info.media_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let record = BlobRecord {
            hash: info.hash.clone(),
            size: i64::try_from(info.size).unwrap_or(i64::MAX),
            media_type: media_type.clone(),
            exif: exif.clone(),
            // Stored as the signed twin of the 64-bit hash; compared bitwise only.
            dhash: dhash.map(|d| i64::from_ne_bytes(d.to_ne_bytes())),
            uploaded_by: actor.id(),
            created_at: self.now(),
        };
        let mut tx = self.store.write().await?;
        tx.insert_blobs(std::slice::from_ref(&record)).await?;
        tx.commit().await?;
        Ok(UploadedBlob {
            url: format!("/api/v1/blobs/{}", info.hash),
            thumbnail_url: format!("/api/v1/blobs/{}/thumbnail", info.hash),
            hash: info.hash,
            size: record.size,
            media_type,
            exif,
        })
    }

    /// The bytes and media type of a blob.
    pub async fn blob(
        &self,
        actor: &Actor,
        hash: &str,
        thumbnail: Option<u32>,
        ctx: &Ctx,
    ) -> AppResult<(Vec<u8>, String)> {
        self.authorize(
            actor,
            Action::CaseRead,
            &Target::Collection,
            Obj::new("blob", hash),
            ctx,
        )
        .await?;
        if !cityloop_evidence::is_valid_hash(hash) {
            return Err(AppError::NotFound("blob"));
        }
        let record = {
            let mut tx = self.store.read().await?;
            tx.get_blobs(&[hash.to_owned()]).await?.pop()
        }
        .ok_or(AppError::NotFound("blob"))?;
        let store = self.blobs.store.clone();
        let h = hash.to_owned();
        let out = tokio::task::spawn_blocking(move || match thumbnail {
            Some(edge) => store
                .thumbnail(&h, edge)
                .map(|b| (b, "image/jpeg".to_owned())),
            None => store
                .get(&h)
                .and_then(|b| b.ok_or(cityloop_evidence::EvidenceError::NotFound(h.clone())))
                .map(|b| (b, record.media_type.clone())),
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(evidence_err)?;
        Ok(out)
    }

    /// The stored rows of these blobs; an unknown hash is refused.
    pub(crate) async fn require_blobs(&self, hashes: &[String]) -> AppResult<Vec<BlobRecord>> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(bad) = hashes.iter().find(|h| !cityloop_evidence::is_valid_hash(h)) {
            return Err(AppError::rejected(
                "unknown_photo",
                "photos",
                format!("not an uploaded photo: {bad}"),
            ));
        }
        let found = {
            let mut tx = self.store.read().await?;
            tx.get_blobs(hashes).await?
        };
        if let Some(missing) = hashes.iter().find(|h| !found.iter().any(|b| &b.hash == *h)) {
            return Err(AppError::rejected(
                "unknown_photo",
                "photos",
                format!("upload {missing} first (POST /api/v1/blobs)"),
            ));
        }
        Ok(found)
    }

    /// Removes blob files and rows no case refers to, older than the configured age.
    pub async fn remove_orphan_blobs(&self) -> AppResult<u64> {
        let cutoff =
            self.now() - chrono::Duration::hours(self.cases_cfg.evidence.orphan_after_hours);
        let mut tx = self.store.write().await?;
        let hashes = tx.unreferenced_blobs(cutoff, 10_000).await?;
        let n = tx.delete_blobs(&hashes).await?;
        tx.commit().await?;
        // Rows first: a file without a row is harmless and swept next time; the reverse would
        // leave rows pointing at nothing.
        let store = self.blobs.store.clone();
        let gone: BTreeSet<String> = hashes.into_iter().collect();
        let sys_cutoff = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(u64::try_from(cutoff.timestamp()).unwrap_or(0));
        let keep_rows = {
            let mut rtx = self.store.read().await?;
            rtx.get_blobs(&store.list_hashes().map_err(evidence_err)?)
                .await?
                .into_iter()
                .map(|b| b.hash)
                .collect::<BTreeSet<String>>()
        };
        tokio::task::spawn_blocking(move || {
            store.remove_orphans(
                &|h: &str| keep_rows.contains(h) && !gone.contains(h),
                sys_cutoff,
            )
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(evidence_err)?;
        Ok(n)
    }
}

/// Plausibility flags of feedback photos, keyed by hash.
pub(crate) fn flags_for(
    after: &[BlobRecord],
    before: &[BlobRecord],
    rec: &CaseRecord,
    case: &Case,
    max_distance_m: f64,
) -> HashMap<String, serde_json::Value> {
    let Some(dispatched_at) = case.disposal_started_at else {
        return HashMap::new();
    };
    let before_hashes: BTreeSet<String> = before.iter().map(|b| b.hash.clone()).collect();
    let before_dhashes: BTreeMap<String, u64> = before
        .iter()
        .filter_map(|b| {
            b.dhash
                .map(|d| (b.hash.clone(), u64::from_ne_bytes(d.to_ne_bytes())))
        })
        .collect();
    after
        .iter()
        .map(|a| {
            let exif = a
                .exif
                .as_ref()
                .and_then(|v| serde_json::from_value(v.clone()).ok());
            let info = cityloop_evidence::BlobInfo {
                hash: a.hash.clone(),
                size: u64::try_from(a.size).unwrap_or(0),
                media_type: cityloop_evidence::sniff_media_type(&[]),
                exif,
            };
            let mut input = PlausibilityInput::new(info, dispatched_at);
            input.before_hashes = before_hashes.clone();
            input.case_location = Some((rec.intake.lat, rec.intake.lon));
            input.max_distance_m = max_distance_m;
            input.assume_offset = FixedOffset::east_opt(8 * 3600).unwrap_or(input.assume_offset);
            input.after_dhash = a.dhash.map(|d| u64::from_ne_bytes(d.to_ne_bytes()));
            input.before_dhashes = before_dhashes.clone();
            let flags: Vec<Flag> = cityloop_evidence::plausibility(&input);
            (
                a.hash.clone(),
                serde_json::to_value(flags).unwrap_or_else(|_| serde_json::json!([])),
            )
        })
        .collect()
}
