//! Content-addressed blob store on local disk.
//!
//! Layout under the root:
//!
//! ```text
//! ab/cd/abcd…(64 hex)        one blob, named by its SHA-256
//! thumbs/<hash>-<edge>.jpg   cached thumbnails
//! **/.tmp-*                  in-flight (or crashed) writes
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EvidenceError, Result, io_at};
use crate::hash::{check_hash, is_valid_hash, sha256_hex};
use crate::imaging::render_thumbnail;
use crate::media::{MediaType, sniff_media_type};
use crate::meta::{ExifInfo, exif_info};

/// Default upload limit: comfortably above a 50 MP phone JPEG.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 32 * 1024 * 1024;

const THUMBS_DIR: &str = "thumbs";
const TMP_PREFIX: &str = ".tmp-";

/// What the store learned about a blob when it was stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobInfo {
    /// Lowercase hex SHA-256, the blob's id.
    pub hash: String,
    pub size: u64,
    pub media_type: MediaType,
    /// Present only for images that carry an EXIF block.
    pub exif: Option<ExifInfo>,
}

impl BlobInfo {
    /// Describes `bytes` without storing them.
    pub fn describe(bytes: &[u8]) -> Self {
        let media_type = sniff_media_type(bytes);
        Self {
            hash: sha256_hex(bytes),
            size: bytes.len() as u64,
            media_type,
            exif: if media_type.is_image() {
                exif_info(bytes)
            } else {
                None
            },
        }
    }
}

/// Outcome of [`BlobStore::remove_orphans`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrphanReport {
    /// Blobs deleted.
    pub removed: usize,
    /// Bytes freed in total: deleted blobs, their thumbnails and stale
    /// temp files.
    pub bytes: u64,
    /// Blobs left in place, referenced or too young to judge.
    pub kept: usize,
    /// Thumbnails deleted because their blob is gone.
    pub thumbs_removed: usize,
    /// Leftovers of interrupted writes deleted.
    pub temps_removed: usize,
}

/// A directory of immutable blobs named by their SHA-256.
///
/// Cloning is cheap and clones share the same directory; all methods take
/// `&self` and are safe to call from several threads or processes because
/// every write lands by atomic rename.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    max_size: u64,
}

impl BlobStore {
    /// Opens (creating if needed) a store with [`DEFAULT_MAX_BLOB_SIZE`].
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_with_max_size(root, DEFAULT_MAX_BLOB_SIZE)
    }

    /// Opens (creating if needed) a store that refuses blobs above
    /// `max_size` bytes.
    pub fn open_with_max_size(root: &Path, max_size: u64) -> Result<Self> {
        create_dir_durable(&root.join(THUMBS_DIR))?;
        Ok(Self {
            root: root.to_path_buf(),
            max_size,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// Stores `bytes` and returns what they are.
    ///
    /// When this returns `Ok`, the blob and its directory entry have been
    /// fsynced, so a database row referencing the hash may be committed: a
    /// crash afterwards cannot leave the row pointing at nothing.
    ///
    /// Storing content that is already present writes nothing, but it does
    /// refresh the blob's mtime so that [`remove_orphans`](Self::remove_orphans)
    /// treats it as freshly uploaded while the caller's commit is in flight.
    pub fn put(&self, bytes: &[u8]) -> Result<BlobInfo> {
        let size = bytes.len() as u64;
        if size > self.max_size {
            return Err(EvidenceError::TooLarge {
                size,
                max: self.max_size,
            });
        }
        let info = BlobInfo::describe(bytes);
        let path = self.blob_path(&info.hash);
        let dir = shard_dir(&path);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() == size => {
                match refresh_mtime(&path, dir) {
                    Ok(()) => return Ok(info),
                    // A concurrent orphan sweep deleted it: write it anew.
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io_at(&path)(e)),
                }
            }
            // A size mismatch means a damaged copy (content addressing makes
            // any other explanation impossible): replace it.
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&path)(e)),
        }
        create_dir_durable(dir)?;
        write_durable(dir, &path, bytes)?;
        Ok(info)
    }

    /// The blob's bytes, or `None` if it is not stored.
    pub fn get(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(hash)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_at(&path)(e)),
        }
    }

    /// Re-derives [`BlobInfo`] from a stored blob (e.g. to run plausibility
    /// checks on an older upload).
    pub fn info(&self, hash: &str) -> Result<Option<BlobInfo>> {
        Ok(self.get(hash)?.map(|bytes| BlobInfo::describe(&bytes)))
    }

    /// Where the blob lives (or would live). Validates the hash, so the
    /// result is always inside the store.
    pub fn path_of(&self, hash: &str) -> Result<PathBuf> {
        check_hash(hash)?;
        Ok(self.blob_path(hash))
    }

    pub fn exists(&self, hash: &str) -> Result<bool> {
        let path = self.path_of(hash)?;
        match fs::metadata(&path) {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_at(&path)(e)),
        }
    }

    /// Re-hashes the stored file; `false` means bit rot or tampering.
    /// A missing blob is `NotFound` rather than `false`, since "absent" and
    /// "corrupt" call for different repairs.
    pub fn verify(&self, hash: &str) -> Result<bool> {
        let path = self.path_of(hash)?;
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(EvidenceError::NotFound(hash.to_owned()));
            }
            Err(e) => return Err(io_at(&path)(e)),
        };
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher).map_err(io_at(&path))?;
        Ok(hex::encode(hasher.finalize()) == hash)
    }

    /// Path of the cached thumbnail for `hash` at `max_edge`.
    pub fn thumbnail_path(&self, hash: &str, max_edge: u32) -> Result<PathBuf> {
        check_hash(hash)?;
        Ok(self.thumbs_dir().join(format!("{hash}-{max_edge}.jpg")))
    }

    /// JPEG thumbnail fitting a `max_edge` square, upright per EXIF.
    ///
    /// Rendered once and cached on disk (written as durably as blobs, so a
    /// crash never leaves a truncated thumbnail that later calls would serve).
    pub fn thumbnail(&self, hash: &str, max_edge: u32) -> Result<Vec<u8>> {
        if max_edge == 0 {
            return Err(EvidenceError::InvalidEdge);
        }
        let thumb_path = self.thumbnail_path(hash, max_edge)?;
        match fs::read(&thumb_path) {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&thumb_path)(e)),
        }
        let original = self
            .get(hash)?
            .ok_or_else(|| EvidenceError::NotFound(hash.to_owned()))?;
        let jpeg = render_thumbnail(&original, max_edge)?;
        write_durable(&self.thumbs_dir(), &thumb_path, &jpeg)?;
        Ok(jpeg)
    }

    /// All stored blob hashes, sorted.
    pub fn list_hashes(&self) -> Result<Vec<String>> {
        let mut hashes = Vec::new();
        for shard in self.shard_dirs()? {
            for entry in fs::read_dir(&shard).map_err(io_at(&shard))? {
                let entry = entry.map_err(io_at(&shard))?;
                if let Some(hash) = self.blob_name(&entry) {
                    hashes.push(hash);
                }
            }
        }
        hashes.sort_unstable();
        Ok(hashes)
    }

    /// Deletes blobs that nothing references, plus debris.
    ///
    /// A blob is deleted only if `referenced(hash)` is false **and** its
    /// mtime is strictly before `cutoff`. The age guard is what makes the
    /// sweep safe against the upload protocol (put blob, then commit the
    /// row): a blob whose row is still in flight is young, so pick `cutoff`
    /// well before the longest plausible upload-to-commit delay (an hour is
    /// generous). Since `referenced` is asked only about old blobs, it may be
    /// a database lookup.
    ///
    /// Also deletes temp files older than `cutoff` (left by crashed writes)
    /// and thumbnails whose blob no longer exists. Unknown files are left
    /// alone, and empty shard directories are kept because a concurrent
    /// `put` may be about to write into them.
    pub fn remove_orphans(
        &self,
        referenced: &dyn Fn(&str) -> bool,
        cutoff: SystemTime,
    ) -> Result<OrphanReport> {
        let mut report = OrphanReport::default();
        for shard in self.shard_dirs()? {
            for entry in fs::read_dir(&shard).map_err(io_at(&shard))? {
                let entry = entry.map_err(io_at(&shard))?;
                let path = entry.path();
                if is_temp(&entry) {
                    if let Some(freed) = remove_if_older(&path, cutoff)? {
                        report.temps_removed += 1;
                        report.bytes += freed;
                    }
                    continue;
                }
                let Some(hash) = self.blob_name(&entry) else {
                    continue;
                };
                let Some(meta) = stat(&path)? else { continue };
                if modified(&path, &meta)? >= cutoff || referenced(&hash) {
                    report.kept += 1;
                    continue;
                }
                if remove_file(&path)? {
                    report.removed += 1;
                    report.bytes += meta.len();
                }
            }
        }
        self.sweep_thumbs(cutoff, &mut report)?;
        Ok(report)
    }

    /// Drops thumbnails of vanished blobs and stale temp files in `thumbs/`.
    fn sweep_thumbs(&self, cutoff: SystemTime, report: &mut OrphanReport) -> Result<()> {
        let dir = self.thumbs_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_at(&dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_at(&dir))?;
            let path = entry.path();
            if is_temp(&entry) {
                if let Some(freed) = remove_if_older(&path, cutoff)? {
                    report.temps_removed += 1;
                    report.bytes += freed;
                }
                continue;
            }
            let name = entry.file_name();
            let Some(hash) = name.to_str().and_then(thumb_owner) else {
                continue;
            };
            if self.exists(hash)? {
                continue;
            }
            let Some(meta) = stat(&path)? else { continue };
            if remove_file(&path)? {
                report.thumbs_removed += 1;
                report.bytes += meta.len();
            }
        }
        Ok(())
    }

    fn blob_path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[0..2]).join(&hash[2..4]).join(hash)
    }

    fn thumbs_dir(&self) -> PathBuf {
        self.root.join(THUMBS_DIR)
    }

    /// The hash an entry stores, if it is a blob placed where this store
    /// would have put it; anything else in the tree is not ours to touch.
    fn blob_name(&self, entry: &fs::DirEntry) -> Option<String> {
        let name = entry.file_name().into_string().ok()?;
        (is_valid_hash(&name) && self.blob_path(&name) == entry.path()).then_some(name)
    }

    /// Every `root/xx/yy` directory.
    fn shard_dirs(&self) -> Result<Vec<PathBuf>> {
        let mut shards = Vec::new();
        for top in hex_subdirs(&self.root)? {
            shards.extend(hex_subdirs(&top)?);
        }
        Ok(shards)
    }
}

fn shard_dir(blob_path: &Path) -> &Path {
    // Blob paths are always built as root/xx/yy/hash, so a parent exists.
    blob_path.parent().unwrap_or(blob_path)
}

/// Subdirectories named by two lowercase hex digits.
fn hex_subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let name = entry.file_name();
        let is_shard = name
            .to_str()
            .is_some_and(|n| n.len() == 2 && is_lower_hex(n));
        if is_shard && entry.file_type().map_err(io_at(dir))?.is_dir() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_temp(entry: &fs::DirEntry) -> bool {
    entry
        .file_name()
        .to_str()
        .is_some_and(|n| n.starts_with(TMP_PREFIX))
}

/// The blob hash of a thumbnail file name `<hash>-<edge>.jpg`.
fn thumb_owner(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".jpg")?;
    let (hash, edge) = stem.split_once('-')?;
    (is_valid_hash(hash) && !edge.is_empty() && edge.bytes().all(|b| b.is_ascii_digit()))
        .then_some(hash)
}

/// Metadata without following symlinks; `None` if it vanished meanwhile.
fn stat(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(meta.is_file().then_some(meta)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_at(path)(e)),
    }
}

fn modified(path: &Path, meta: &fs::Metadata) -> Result<SystemTime> {
    meta.modified().map_err(io_at(path))
}

/// `true` if this call deleted the file, `false` if someone else did.
fn remove_file(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_at(path)(e)),
    }
}

/// Deletes a file older than `cutoff`, returning the bytes freed.
fn remove_if_older(path: &Path, cutoff: SystemTime) -> Result<Option<u64>> {
    let Some(meta) = stat(path)? else {
        return Ok(None);
    };
    if modified(path, &meta)? >= cutoff {
        return Ok(None);
    }
    Ok(remove_file(path)?.then_some(meta.len()))
}

/// Writes `bytes` to `target` so that after return the content is on disk
/// under its final name: temp file in the same directory (so the rename
/// cannot cross filesystems), fsync it, rename, fsync the directory. A crash
/// at any point leaves either no file or the whole file, never a prefix.
fn write_durable(dir: &Path, target: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .map_err(io_at(dir))?;
    tmp.write_all(bytes).map_err(io_at(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_at(tmp.path()))?;
    tmp.persist(target).map_err(|e| io_at(target)(e.error))?;
    sync_dir(dir)
}

/// Creates `dir` and any missing ancestors, fsyncing the parent of each new
/// directory so the new entries survive a crash along with the blob.
fn create_dir_durable(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.exists() {
        missing.push(cur);
        match cur.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => cur = parent,
            _ => break,
        }
    }
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    for created in missing {
        let parent = match created.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        sync_dir(parent)?;
    }
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))
}

/// Windows cannot open a directory as a plain file, and NTFS journals
/// renames itself, so there is nothing to do.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// Sets the blob's mtime to the filesystem's "now".
///
/// The timestamp is taken from a freshly created temp file rather than from
/// the process clock: the orphan sweep compares against file mtimes, which
/// the filesystem stamps, so refreshing with the same source keeps a
/// re-uploaded blob exactly as young as a newly written one.
fn refresh_mtime(path: &Path, dir: &Path) -> io::Result<()> {
    let stamp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)?;
    let now = stamp.as_file().metadata()?.modified()?;
    OpenOptions::new().write(true).open(path)?.set_modified(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ExifSpec, gradient_jpeg, jpeg_with_exif, png_bytes};
    use proptest::prelude::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(&dir.path().join("blobs")).unwrap();
        (dir, store)
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn set_mtime(path: &Path, t: SystemTime) {
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    fn mtime(path: &Path) -> SystemTime {
        fs::metadata(path).unwrap().modified().unwrap()
    }

    fn temp_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(TMP_PREFIX))
            .collect()
    }

    #[test]
    fn open_creates_root_and_thumbs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/store");
        let s = BlobStore::open(&root).unwrap();
        assert!(root.join(THUMBS_DIR).is_dir());
        assert_eq!(s.root(), root);
        assert_eq!(s.max_size(), DEFAULT_MAX_BLOB_SIZE);
        // Reopening an existing store is fine.
        BlobStore::open(&root).unwrap();
    }

    #[test]
    fn put_lays_out_blob_by_hash_and_leaves_no_temp_files() {
        let (_d, s) = store();
        let info = s.put(b"hello evidence").unwrap();
        assert_eq!(info.hash, sha256_hex(b"hello evidence"));
        assert_eq!(info.size, 14);
        assert_eq!(info.media_type, MediaType::OctetStream);
        assert_eq!(info.exif, None);
        let expected = s
            .root()
            .join(&info.hash[..2])
            .join(&info.hash[2..4])
            .join(&info.hash);
        assert_eq!(s.path_of(&info.hash).unwrap(), expected);
        assert_eq!(fs::read(&expected).unwrap(), b"hello evidence");
        assert!(temp_files(expected.parent().unwrap()).is_empty());
        assert!(s.exists(&info.hash).unwrap());
        assert_eq!(s.get(&info.hash).unwrap().unwrap(), b"hello evidence");
    }

    #[test]
    fn put_is_idempotent_and_refreshes_age() {
        let (_d, s) = store();
        let first = s.put(b"same bytes").unwrap();
        let path = s.path_of(&first.hash).unwrap();
        set_mtime(&path, at(1_000));
        let second = s.put(b"same bytes").unwrap();
        assert_eq!(first, second);
        assert_eq!(s.list_hashes().unwrap(), vec![first.hash.clone()]);
        assert!(temp_files(path.parent().unwrap()).is_empty());
        // The re-upload counts as fresh: a sweep with an old cutoff keeps it.
        assert!(mtime(&path) > at(1_600_000_000));
        let report = s.remove_orphans(&|_| false, at(2_000)).unwrap();
        assert_eq!((report.removed, report.kept), (0, 1));
    }

    #[test]
    fn put_repairs_a_truncated_copy() {
        let (_d, s) = store();
        let info = s.put(b"full content").unwrap();
        let path = s.path_of(&info.hash).unwrap();
        fs::write(&path, b"full").unwrap();
        assert!(!s.verify(&info.hash).unwrap());
        s.put(b"full content").unwrap();
        assert!(s.verify(&info.hash).unwrap());
    }

    #[test]
    fn put_enforces_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let s = BlobStore::open_with_max_size(dir.path(), 4).unwrap();
        s.put(b"1234").unwrap();
        match s.put(b"12345") {
            Err(EvidenceError::TooLarge { size: 5, max: 4 }) => {}
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert_eq!(s.list_hashes().unwrap().len(), 1);
    }

    #[test]
    fn put_sniffs_media_and_reads_exif() {
        let (_d, s) = store();
        let spec = ExifSpec {
            date_time_original: Some("2024:06:01 08:00:00"),
            gps: Some((22.5431, 114.0579)),
            ..ExifSpec::default()
        };
        let info = s
            .put(&jpeg_with_exif(&gradient_jpeg(16, 16), &spec))
            .unwrap();
        assert_eq!(info.media_type, MediaType::Jpeg);
        let exif = info.exif.clone().expect("exif");
        assert!(exif.taken_at.is_some() && exif.gps.is_some());
        assert_eq!(s.info(&info.hash).unwrap(), Some(info));
        assert_eq!(s.put(&png_bytes(4, 4)).unwrap().media_type, MediaType::Png);
        let pdf = s.put(b"%PDF-1.7 report").unwrap();
        assert_eq!((pdf.media_type, pdf.exif), (MediaType::Pdf, None));
    }

    #[test]
    fn bad_hashes_are_rejected_everywhere() {
        let (_d, s) = store();
        let upper = sha256_hex(b"x").to_uppercase();
        for bad in ["../x", "", "..", "/etc/passwd", upper.as_str()] {
            assert!(
                matches!(s.get(bad), Err(EvidenceError::InvalidHash(_))),
                "{bad}"
            );
            assert!(matches!(s.path_of(bad), Err(EvidenceError::InvalidHash(_))));
            assert!(matches!(s.exists(bad), Err(EvidenceError::InvalidHash(_))));
            assert!(matches!(s.verify(bad), Err(EvidenceError::InvalidHash(_))));
            assert!(matches!(s.info(bad), Err(EvidenceError::InvalidHash(_))));
            assert!(matches!(
                s.thumbnail(bad, 64),
                Err(EvidenceError::InvalidHash(_))
            ));
            assert!(matches!(
                s.thumbnail_path(bad, 64),
                Err(EvidenceError::InvalidHash(_))
            ));
        }
    }

    #[test]
    fn missing_blobs() {
        let (_d, s) = store();
        let h = sha256_hex(b"never stored");
        assert_eq!(s.get(&h).unwrap(), None);
        assert_eq!(s.info(&h).unwrap(), None);
        assert!(!s.exists(&h).unwrap());
        assert!(matches!(s.verify(&h), Err(EvidenceError::NotFound(x)) if x == h));
        assert!(matches!(
            s.thumbnail(&h, 64),
            Err(EvidenceError::NotFound(_))
        ));
    }

    #[test]
    fn verify_detects_corruption() {
        let (_d, s) = store();
        let info = s.put(b"original").unwrap();
        assert!(s.verify(&info.hash).unwrap());
        fs::write(s.path_of(&info.hash).unwrap(), b"tampered").unwrap();
        assert!(!s.verify(&info.hash).unwrap());
    }

    #[test]
    fn thumbnail_is_sized_and_cached() {
        let (_d, s) = store();
        let info = s.put(&gradient_jpeg(300, 150)).unwrap();
        let thumb = s.thumbnail(&info.hash, 120).unwrap();
        let img = image::load_from_memory(&thumb).unwrap();
        assert_eq!((img.width(), img.height()), (120, 60));
        let cached = s.thumbnail_path(&info.hash, 120).unwrap();
        assert_eq!(
            cached,
            s.root()
                .join("thumbs")
                .join(format!("{}-120.jpg", info.hash))
        );
        assert_eq!(fs::read(&cached).unwrap(), thumb);
        assert!(temp_files(&s.root().join(THUMBS_DIR)).is_empty());
        // Prove the second call reads the cache: replace the cached file.
        fs::write(&cached, b"cached marker").unwrap();
        assert_eq!(s.thumbnail(&info.hash, 120).unwrap(), b"cached marker");
        assert!(matches!(
            s.thumbnail(&info.hash, 0),
            Err(EvidenceError::InvalidEdge)
        ));
    }

    #[test]
    fn thumbnail_of_non_image_is_decode_error() {
        let (_d, s) = store();
        let info = s.put(b"%PDF-1.4").unwrap();
        assert!(matches!(
            s.thumbnail(&info.hash, 64),
            Err(EvidenceError::Decode(_))
        ));
        assert!(!s.thumbnail_path(&info.hash, 64).unwrap().exists());
    }

    #[test]
    fn list_hashes_ignores_foreign_files() {
        let (_d, s) = store();
        let mut expected: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|x| s.put(x.as_bytes()).unwrap().hash)
            .collect();
        expected.sort();
        // A valid-looking hash in the wrong shard, junk, and a stray dir.
        let misplaced = sha256_hex(b"elsewhere");
        let wrong_shard = s.root().join("00/00");
        fs::create_dir_all(&wrong_shard).unwrap();
        fs::write(wrong_shard.join(&misplaced), b"x").unwrap();
        fs::write(wrong_shard.join("notes.txt"), b"x").unwrap();
        fs::create_dir_all(s.root().join("zz/yy")).unwrap();
        assert_eq!(s.list_hashes().unwrap(), expected);
        let report = s
            .remove_orphans(&|_| false, at(u64::from(u32::MAX)))
            .unwrap();
        assert_eq!(report.removed, 3);
        assert!(wrong_shard.join(&misplaced).exists());
        assert!(wrong_shard.join("notes.txt").exists());
    }

    #[test]
    fn remove_orphans_respects_cutoff_and_references() {
        let (_d, s) = store();
        let referenced_old = s.put(&gradient_jpeg(40, 40)).unwrap().hash;
        let orphan_old = s.put(&gradient_jpeg(50, 20)).unwrap().hash;
        let orphan_young = s.put(b"just uploaded, commit in flight").unwrap().hash;
        s.thumbnail(&referenced_old, 16).unwrap();
        s.thumbnail(&orphan_old, 16).unwrap();
        s.thumbnail(&orphan_old, 32).unwrap();
        for h in [&referenced_old, &orphan_old] {
            set_mtime(&s.path_of(h).unwrap(), at(1_000));
        }
        set_mtime(&s.path_of(&orphan_young).unwrap(), at(5_000));
        // Debris of a crashed write, one stale and one possibly still live.
        let shard = s
            .path_of(&orphan_young)
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        let stale_tmp = shard.join(".tmp-crashed");
        let live_tmp = s.root().join(THUMBS_DIR).join(".tmp-writing");
        fs::write(&stale_tmp, b"partial").unwrap();
        fs::write(&live_tmp, b"partial").unwrap();
        set_mtime(&stale_tmp, at(1_000));
        set_mtime(&live_tmp, at(5_000));

        let orphan_size = s.path_of(&orphan_old).unwrap().metadata().unwrap().len();
        let thumbs_size: u64 = [16, 32]
            .iter()
            .map(|&e| {
                s.thumbnail_path(&orphan_old, e)
                    .unwrap()
                    .metadata()
                    .unwrap()
                    .len()
            })
            .sum();
        let keep = referenced_old.clone();
        let report = s.remove_orphans(&|h| h == keep, at(3_000)).unwrap();

        assert_eq!(report.removed, 1);
        assert_eq!(report.kept, 2);
        assert_eq!(report.thumbs_removed, 2);
        assert_eq!(report.temps_removed, 1);
        assert_eq!(report.bytes, orphan_size + thumbs_size + 7);
        assert!(!s.exists(&orphan_old).unwrap());
        assert!(s.exists(&referenced_old).unwrap());
        assert!(s.exists(&orphan_young).unwrap());
        assert!(!s.thumbnail_path(&orphan_old, 16).unwrap().exists());
        assert!(s.thumbnail_path(&referenced_old, 16).unwrap().exists());
        assert!(!stale_tmp.exists());
        assert!(live_tmp.exists());

        // A later sweep past the young blob's mtime takes it too.
        let report = s.remove_orphans(&|h| h == keep, at(6_000)).unwrap();
        assert_eq!(
            (report.removed, report.kept, report.temps_removed),
            (1, 1, 1)
        );
        assert_eq!(s.list_hashes().unwrap(), vec![referenced_old]);
    }

    #[test]
    fn referenced_is_only_asked_about_old_blobs() {
        let (_d, s) = store();
        let young = s.put(b"young").unwrap().hash;
        set_mtime(&s.path_of(&young).unwrap(), at(9_000));
        let asked = std::cell::RefCell::new(Vec::new());
        let report = s
            .remove_orphans(
                &|h| {
                    asked.borrow_mut().push(h.to_owned());
                    true
                },
                at(1_000),
            )
            .unwrap();
        assert_eq!(report.kept, 1);
        assert!(asked.borrow().is_empty());
    }

    #[test]
    fn blob_info_serde_round_trip() {
        let (_d, s) = store();
        let spec = ExifSpec {
            date_time_original: Some("2024:06:01 08:00:00"),
            offset_original: Some("+08:00"),
            ..ExifSpec::default()
        };
        let info = s.put(&jpeg_with_exif(&gradient_jpeg(8, 8), &spec)).unwrap();
        let json = serde_json::to_string(&info).unwrap();
        assert!(json.contains("\"media_type\":\"image/jpeg\""), "{json}");
        let back: BlobInfo = serde_json::from_str(&json).unwrap();
        assert_eq!(back, info);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn put_get_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let (_d, s) = store();
            let info = s.put(&bytes).unwrap();
            prop_assert_eq!(info.size, bytes.len() as u64);
            prop_assert_eq!(&info.hash, &sha256_hex(&bytes));
            prop_assert_eq!(s.get(&info.hash).unwrap(), Some(bytes.clone()));
            prop_assert!(s.verify(&info.hash).unwrap());
            prop_assert_eq!(s.put(&bytes).unwrap(), info);
        }
    }
}
