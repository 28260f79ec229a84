//! Files that arrive as uploads: kept in a temporary file under a name the sender chose, and a
//! shapefile packed in a zip because a browser sends one file per field.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::{FeatureReader, Format, ReadError, ReadErrorKind, ReadOptions, ShapefileParts};

/// The shapefile members used; the rest of an archive (.shx, .sbn, .xml …) is ignored.
const MEMBERS: [&str; 4] = ["shp", "dbf", "prj", "cpg"];

impl FeatureReader {
    /// Opens an upload stored at `path`. `name` is the file name its sender gave: its extension
    /// picks the format (`.geojson`/`.json`, `.csv`, or `.zip` holding one shapefile) and it names
    /// the file in messages, so that no server path reaches the sender. A zip's members are
    /// unpacked into `scratch`, at most `max_unpacked` bytes in all, since a small archive can
    /// expand without bound.
    ///
    /// # Errors
    /// An unsupported extension, an unreadable file or archive, an archive without exactly one
    /// `.shp`, or a broken header.
    pub fn open_upload(
        path: &Path,
        name: &str,
        scratch: &Path,
        max_unpacked: u64,
        opts: &ReadOptions,
    ) -> Result<Self, ReadError> {
        let shown = Path::new(name);
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".zip") {
            return open_zipped_shapefile(path, shown, scratch, max_unpacked, opts);
        }
        let format = match Format::from_path(shown) {
            Some(Format::Shapefile) => {
                return Err(zip_error(
                    shown,
                    "a shapefile is several files; upload the .shp, .dbf, .prj and .cpg together in one .zip",
                ));
            }
            Some(f) => f,
            None => {
                return Err(ReadError::new(
                    shown,
                    None,
                    ReadErrorKind::UnsupportedFormat,
                ));
            }
        };
        let file = File::open(path).map_err(|e| ReadError::new(shown, Some(format), e.into()))?;
        let size = file.metadata().ok().map(|m| m.len());
        Self::from_reader(shown, format, Box::new(file), size, opts)
    }
}

fn zip_error(name: &Path, message: &str) -> ReadError {
    ReadError::new(
        name,
        Some(Format::Shapefile),
        ReadErrorKind::Zip(message.to_owned()),
    )
}

fn open_zipped_shapefile(
    path: &Path,
    zip_name: &Path,
    scratch: &Path,
    max_unpacked: u64,
    opts: &ReadOptions,
) -> Result<FeatureReader, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::new(zip_name, None, e.into()))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| zip_error(zip_name, &e.to_string()))?;
    let names: Vec<String> = (0..archive.len())
        .filter_map(|i| {
            archive
                .by_index(i)
                .ok()?
                .name()
                .ok()
                .map(|n| n.into_owned())
        })
        // Archives made on a Mac carry resource forks beside every file.
        .filter(|n| !n.starts_with("__MACOSX/") && !n.ends_with('/'))
        .collect();
    let shps: Vec<&String> = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".shp"))
        .collect();
    let shp = match shps.as_slice() {
        [one] => (*one).clone(),
        [] => return Err(zip_error(zip_name, "the archive holds no .shp file")),
        more => {
            let list: Vec<&str> = more.iter().map(|s| s.as_str()).collect();
            return Err(zip_error(
                zip_name,
                &format!(
                    "the archive holds several shapefiles ({}); upload one at a time",
                    list.join(", ")
                ),
            ));
        }
    };
    let stem = shp.get(..shp.len() - 4).unwrap_or_default().to_owned();
    let mut budget = max_unpacked;
    let mut unpacked: [Option<PathBuf>; 4] = Default::default();
    for (slot, ext) in unpacked.iter_mut().zip(MEMBERS) {
        let Some(member) = names.iter().find(|n| {
            n.len() == stem.len() + 4
                && n.starts_with(&stem)
                && n.to_ascii_lowercase().ends_with(&format!(".{ext}"))
        }) else {
            continue;
        };
        let mut entry = archive
            .by_name(member)
            .map_err(|e| zip_error(zip_name, &format!("{member}: {e}")))?;
        // Fixed names inside the scratch directory: a member's own path is never trusted.
        let target = scratch.join(format!("upload.{ext}"));
        let mut out = File::create(&target).map_err(|e| zip_error(zip_name, &e.to_string()))?;
        let copied = std::io::copy(&mut entry.by_ref().take(budget + 1), &mut out)
            .map_err(|e| zip_error(zip_name, &format!("{member}: {e}")))?;
        if copied > budget {
            return Err(zip_error(
                zip_name,
                &format!("the unpacked shapefile is larger than {max_unpacked} bytes"),
            ));
        }
        budget -= copied;
        out.flush()
            .map_err(|e| zip_error(zip_name, &e.to_string()))?;
        *slot = Some(target);
    }
    let [shp_file, dbf, prj, cpg] = unpacked;
    let open = |p: &Path| File::open(p).map_err(|e| zip_error(zip_name, &e.to_string()));
    let text = |p: Option<PathBuf>| -> Result<Option<String>, ReadError> {
        let Some(p) = p else { return Ok(None) };
        let mut bytes = Vec::new();
        open(&p)?
            .take(64 * 1024)
            .read_to_end(&mut bytes)
            .map_err(|e| zip_error(zip_name, &e.to_string()))?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let shp_file = shp_file.ok_or_else(|| zip_error(zip_name, "the .shp could not be unpacked"))?;
    let parts = ShapefileParts {
        shp: Box::new(open(&shp_file)?),
        dbf: match dbf {
            Some(p) => Some(Box::new(open(&p)?)),
            None => None,
        },
        cpg: text(cpg)?,
        prj: text(prj)?,
    };
    // Messages name the member as the sender knows it: `grids.zip/网格.shp`.
    let shown = zip_name.join(&shp);
    FeatureReader::from_shapefile_parts(&shown, parts, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn zip_of(members: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.zip");
        let mut w = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, bytes) in members {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
        (dir, path)
    }

    #[test]
    fn uploads_pick_the_format_by_the_senders_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, "id,lon,lat\n1,120.1,30.2\n").unwrap();
        let reader = FeatureReader::open_upload(
            &path,
            "部件.csv",
            dir.path(),
            1 << 20,
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(reader.path(), Path::new("部件.csv"));
        assert_eq!(reader.count(), 1);
        let e = FeatureReader::open_upload(
            &path,
            "x.kml",
            dir.path(),
            1 << 20,
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("unsupported"), "{e}");
        let e = FeatureReader::open_upload(
            &path,
            "x.shp",
            dir.path(),
            1 << 20,
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains(".zip"), "{e}");
    }

    #[test]
    fn zips_need_one_shapefile_and_stay_within_the_budget() {
        let (dir, path) = zip_of(&[("readme.txt", b"hello")]);
        let e = FeatureReader::open_upload(
            &path,
            "a.zip",
            dir.path(),
            1 << 20,
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no .shp"), "{e}");
        let (dir, path) = zip_of(&[("a.shp", b"x"), ("b/c.SHP", b"y")]);
        let e = FeatureReader::open_upload(
            &path,
            "a.zip",
            dir.path(),
            1 << 20,
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("several shapefiles"), "{e}");
        let (dir, path) = zip_of(&[("big.shp", &[0u8; 4096])]);
        let e =
            FeatureReader::open_upload(&path, "a.zip", dir.path(), 1000, &ReadOptions::default())
                .unwrap_err();
        assert!(e.to_string().contains("larger than 1000"), "{e}");
        std::fs::write(&path, b"not a zip").unwrap();
        let e = FeatureReader::open_upload(
            &path,
            "a.zip",
            dir.path(),
            1 << 20,
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("invalid zip"), "{e}");
    }
}

#[cfg(test)]
mod zipped {
    use shapefile::dbase::{FieldName, FieldValue, Record, TableWriterBuilder};

    use super::tests::zip_of;
    use super::*;

    /// A point shapefile with a `.dbf` and a `.cpg`, zipped in a folder the way desktop GIS tools
    /// export one, reads with its attributes and is named after the archive member.
    #[test]
    fn a_zipped_shapefile_reads_with_its_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let shp = dir.path().join("部件.shp");
        let table =
            TableWriterBuilder::new().add_character_field(FieldName::try_from("ID").unwrap(), 16);
        let mut w = shapefile::Writer::from_path(&shp, table).unwrap();
        for id in ["3301880118000001", "3301880118000002"] {
            let mut r = Record::default();
            r.insert("ID".into(), FieldValue::Character(Some(id.into())));
            w.write_shape_and_record(&shapefile::Point::new(120.1, 30.2), &r)
                .unwrap();
        }
        drop(w);
        let bytes = |ext: &str| std::fs::read(shp.with_extension(ext)).unwrap();
        let (shp_bytes, dbf_bytes) = (bytes("shp"), bytes("dbf"));
        let (scratch, path) = zip_of(&[
            ("导出/部件.shp", &shp_bytes[..]),
            ("导出/部件.dbf", &dbf_bytes[..]),
            ("导出/部件.cpg", b"UTF-8"),
            ("__MACOSX/导出/._部件.shp", b"junk"),
        ]);
        let reader = FeatureReader::open_upload(
            &path,
            "parts.zip",
            scratch.path(),
            1 << 20,
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(reader.path(), Path::new("parts.zip/导出/部件.shp"));
        let features: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(features.len(), 2);
        assert_eq!(
            features[1].properties.get("ID").and_then(|v| v.as_str()),
            Some("3301880118000002")
        );
    }
}
