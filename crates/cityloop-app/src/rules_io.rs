//! The spreadsheet layout local centres keep their 立结案标准 in, as CSV and XLSX:
//! 大类代码 | 大类名称 | 小类代码 | 小类名称 | 责任单位 | 立案条件 | 处置时限 | 结案条件 | 备注
//! with optional 类型 (部件/事件) and 区域类别 (一类/二类) columns. An XLSX workbook has one sheet per
//! kind (a sheet named 部件… or 事件…) and optionally a 环节时限 sheet (环节 | 时限).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use cityloop_domain::FieldError;
use cityloop_domain::calendar::TimeLimit;
use cityloop_domain::rules::{FilingCondition, ProcessLimits, RowError, RuleRow, Step};
use cityloop_domain::taxonomy::{ClassKind, TaxonomyClass};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook};

pub const HEADERS: [&str; 11] = [
    "类型",
    "大类代码",
    "大类名称",
    "小类代码",
    "小类名称",
    "责任单位",
    "立案条件",
    "处置时限",
    "结案条件",
    "区域类别",
    "备注",
];

/// English header aliases accepted on import.
fn canonical(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{feff}');
    HEADERS.iter().copied().find(|c| *c == h).or(match h {
        "kind" => Some("类型"),
        "major_code" => Some("大类代码"),
        "major_name" => Some("大类名称"),
        "minor_code" => Some("小类代码"),
        "minor_name" => Some("小类名称"),
        "department" | "责任部门" | "处置单位" => Some("责任单位"),
        "filing_condition" | "condition" => Some("立案条件"),
        "time_limit" | "limit" | "处置时间" => Some("处置时限"),
        "closing_condition" | "closing" => Some("结案条件"),
        "area_class" | "区域" => Some("区域类别"),
        "note" | "notes" => Some("备注"),
        _ => None,
    })
}

/// Parsed rows, the kind implied by the sheet or file, and the process limits if the workbook has them.
#[derive(Debug, Default)]
pub struct ParsedTable {
    pub sheets: Vec<(Option<ClassKind>, Vec<RuleRow>)>,
    pub process: Option<ProcessSheet>,
}

/// The 环节时限 sheet: step limits and the warning threshold (预警阈值, e.g. `80%`).
#[derive(Debug, Clone, Default)]
pub struct ProcessSheet {
    pub limits: Vec<(Step, TimeLimit)>,
    pub warn_at_percent: Option<u8>,
}

pub const WARN_ROW: &str = "预警阈值";

fn rows_from_records(
    source: &str,
    records: Vec<Vec<String>>,
    first_line: usize,
) -> Result<Vec<RuleRow>, Vec<RowError>> {
    let mut iter = records.into_iter().enumerate();
    let header = loop {
        match iter.next() {
            Some((_, r)) if r.iter().all(|c| c.trim().is_empty()) => continue,
            Some((_, r)) => break r,
            None => return Ok(Vec::new()),
        }
    };
    let columns: Vec<Option<&'static str>> = header.iter().map(|h| canonical(h)).collect();
    for required in ["小类代码", "立案条件", "处置时限"] {
        if !columns.contains(&Some(required)) {
            return Err(vec![RowError {
                source: format!("{source} header"),
                column: required,
                message: format!("missing column {required}"),
            }]);
        }
    }
    let mut rows = Vec::new();
    for (i, rec) in iter {
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |name: &str| {
            columns
                .iter()
                .position(|c| *c == Some(name))
                .and_then(|p| rec.get(p))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        rows.push(RuleRow {
            source: format!("{source} line {}", i + first_line),
            kind: get("类型"),
            major_code: get("大类代码"),
            major_name: get("大类名称"),
            minor_code: get("小类代码"),
            minor_name: get("小类名称"),
            department: get("责任单位"),
            condition: get("立案条件"),
            limit: get("处置时限"),
            closing: get("结案条件"),
            note: get("备注"),
            area_class: get("区域类别"),
        });
    }
    Ok(rows)
}

/// Text of a CSV file: UTF-8 (with or without BOM), or GBK as Excel on Chinese Windows saves it.
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    }
}

pub fn parse_csv(name: &str, bytes: &[u8]) -> Result<ParsedTable, Vec<RowError>> {
    let text = decode_text(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            vec![RowError {
                source: format!("{name} line {}", i + 1),
                column: "-",
                message: format!("not valid CSV: {e}"),
            }]
        })?;
        records.push(rec.iter().map(str::to_owned).collect());
    }
    let rows = rows_from_records(name, records, 1)?;
    Ok(ParsedTable {
        sheets: vec![(None, rows)],
        process: None,
    })
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        // Codes typed into Excel often become numbers; keep them as the digits they were.
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

pub fn parse_xlsx(name: &str, bytes: &[u8]) -> Result<ParsedTable, Vec<RowError>> {
    let bad = |message: String| {
        vec![RowError {
            source: name.to_owned(),
            column: "-",
            message,
        }]
    };
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
    let mut out = ParsedTable::default();
    let mut errors = Vec::new();
    for sheet in book.sheet_names() {
        let range = book
            .worksheet_range(&sheet)
            .map_err(|e| bad(format!("sheet {sheet}: {e}")))?;
        let records: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        let first_line = range.start().map(|(r, _)| r as usize + 1).unwrap_or(1);
        if sheet.contains("环节") {
            out.process = Some(parse_process_sheet(
                &sheet,
                &records,
                first_line,
                &mut errors,
            ));
            continue;
        }
        let kind = if sheet.contains("部件") {
            Some(ClassKind::Component)
        } else if sheet.contains("事件") {
            Some(ClassKind::Event)
        } else {
            None
        };
        let has_header = records
            .iter()
            .take(5)
            .any(|r| r.iter().any(|c| canonical(c) == Some("小类代码")));
        if !has_header {
            continue;
        }
        match rows_from_records(&format!("{name} sheet {sheet}"), records, first_line) {
            Ok(rows) => out.sheets.push((kind, rows)),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if out.sheets.is_empty() {
        return Err(bad("no sheet with a 小类代码 column".into()));
    }
    Ok(out)
}

fn parse_process_sheet(
    sheet: &str,
    records: &[Vec<String>],
    first_line: usize,
    errors: &mut Vec<RowError>,
) -> ProcessSheet {
    let mut out = ProcessSheet::default();
    for (i, r) in records.iter().enumerate().skip(1) {
        let step = r.first().map(|s| s.trim()).unwrap_or_default();
        let limit = r.get(1).map(|s| s.trim()).unwrap_or_default();
        if step.is_empty() && limit.is_empty() {
            continue;
        }
        let source = format!("sheet {sheet} line {}", i + first_line);
        if step == WARN_ROW {
            match limit.trim_end_matches(['%', '％']).trim().parse::<u8>() {
                Ok(p) if (1..=99).contains(&p) => out.warn_at_percent = Some(p),
                _ => errors.push(RowError {
                    source,
                    column: "时限",
                    message: format!("{WARN_ROW} is a percentage from 1% to 99%, got `{limit}`"),
                }),
            }
            continue;
        }
        match (step.parse::<Step>(), limit.parse::<TimeLimit>()) {
            (Ok(s), Ok(l)) => out.limits.push((s, l)),
            (Err(e), _) => errors.push(RowError {
                source,
                column: "环节",
                message: e.message,
            }),
            (_, Err(e)) => errors.push(RowError {
                source,
                column: "时限",
                message: e.to_string(),
            }),
        }
    }
    out
}

/// Parses a rules file by its extension (`.csv` or `.xlsx`).
pub fn parse_file(name: &str, bytes: &[u8]) -> Result<ParsedTable, Vec<RowError>> {
    let lower = name.to_lowercase();
    if lower.ends_with(".xlsx") {
        parse_xlsx(name, bytes)
    } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
        parse_csv(name, bytes)
    } else {
        Err(vec![RowError {
            source: name.to_owned(),
            column: "-",
            message: "a rules file is .csv or .xlsx".into(),
        }])
    }
}

/// A row of the export.
fn export_row(
    fc: &FilingCondition,
    classes: &[TaxonomyClass],
    dept_name: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let tc = classes.iter().find(|c| c.class == fc.class);
    vec![
        fc.class.kind.name_zh().to_owned(),
        fc.class.major().to_owned(),
        tc.map(|c| c.major_name.clone()).unwrap_or_default(),
        fc.class.code().to_owned(),
        tc.map(|c| c.name.clone()).unwrap_or_default(),
        fc.department.as_deref().map(dept_name).unwrap_or_default(),
        fc.condition.clone(),
        fc.limit.to_string(),
        fc.closing.clone(),
        fc.area_class
            .map(|a| a.name_zh().to_owned())
            .unwrap_or_default(),
        fc.note.clone(),
    ]
}

/// CSV with a UTF-8 BOM, so that Excel on Chinese Windows opens it correctly.
pub fn export_csv(
    conditions: &[FilingCondition],
    classes: &[TaxonomyClass],
    dept_name: &dyn Fn(&str) -> String,
) -> Result<Vec<u8>, FieldError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let fail = |e: csv::Error| FieldError::new("export", e.to_string());
        w.write_record(HEADERS).map_err(fail)?;
        for fc in conditions {
            w.write_record(export_row(fc, classes, dept_name))
                .map_err(fail)?;
        }
        w.flush()
            .map_err(|e| FieldError::new("export", e.to_string()))?;
    }
    Ok(out)
}

pub fn export_xlsx(
    title: &str,
    conditions: &[FilingCondition],
    process: &ProcessLimits,
    classes: &[TaxonomyClass],
    dept_name: &dyn Fn(&str) -> String,
) -> Result<Vec<u8>, FieldError> {
    let fail = |e: rust_xlsxwriter::XlsxError| FieldError::new("export", e.to_string());
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(FormatBorder::Thin)
        .set_text_wrap();
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let widths = [
        6.0, 8.0, 12.0, 8.0, 16.0, 18.0, 40.0, 12.0, 24.0, 10.0, 20.0,
    ];
    for (sheet_name, kind) in [
        ("部件立结案标准", ClassKind::Component),
        ("事件立结案标准", ClassKind::Event),
    ] {
        let ws = book.add_worksheet();
        ws.set_name(sheet_name).map_err(fail)?;
        for (c, h) in HEADERS.iter().enumerate() {
            let col = c as u16;
            ws.write_string_with_format(0, col, *h, &header)
                .map_err(fail)?;
            ws.set_column_width(col, widths.get(c).copied().unwrap_or(12.0))
                .map_err(fail)?;
        }
        let mut r = 1u32;
        for fc in conditions.iter().filter(|fc| fc.class.kind == kind) {
            for (c, v) in export_row(fc, classes, dept_name).iter().enumerate() {
                ws.write_string_with_format(r, c as u16, v, &cell)
                    .map_err(fail)?;
            }
            r += 1;
        }
        ws.set_freeze_panes(1, 0).map_err(fail)?;
        ws.autofilter(0, 0, r.saturating_sub(1).max(1), (HEADERS.len() - 1) as u16)
            .map_err(fail)?;
    }
    let ws = book.add_worksheet();
    ws.set_name("环节时限").map_err(fail)?;
    ws.write_string_with_format(0, 0, "环节", &header)
        .map_err(fail)?;
    ws.write_string_with_format(0, 1, "时限", &header)
        .map_err(fail)?;
    ws.set_column_width(0, 14.0).map_err(fail)?;
    ws.set_column_width(1, 16.0).map_err(fail)?;
    let mut r = 1u32;
    for (step, limit) in &process.limits {
        ws.write_string_with_format(r, 0, step.name_zh(), &cell)
            .map_err(fail)?;
        ws.write_string_with_format(r, 1, limit.to_string(), &cell)
            .map_err(fail)?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, WARN_ROW, &cell)
        .map_err(fail)?;
    ws.write_string_with_format(r, 1, format!("{}%", process.warn_at_percent), &cell)
        .map_err(fail)?;
    let ws = book.add_worksheet();
    ws.set_name("说明").map_err(fail)?;
    ws.set_column_width(0, 60.0).map_err(fail)?;
    ws.write_string_with_format(0, 0, title, &header)
        .map_err(fail)?;
    ws.write_string(1, 0, "处置时限写法：N个工作日、N个工作小时、N工作分钟；紧急时限连续计时写作 N个自然小时 或 N个自然日。")
        .map_err(fail)?;
    ws.write_string(
        2,
        0,
        "类型为 部件 或 事件；区域类别可填 一类 或 二类，留空表示全部区域。",
    )
    .map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use cityloop_domain::rules::conditions_from_rows;
    use cityloop_domain::taxonomy::builtin_classes;

    use super::*;

    #[test]
    fn gbk_and_bom_csv() {
        let text = "大类代码,大类名称,小类代码,小类名称,责任单位,立案条件,处置时限,结案条件,备注\n05,街面秩序,0505,机动车乱停放,,占道停放,2小时,已驶离,\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        for bytes in [
            gbk.to_vec(),
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        ] {
            let t = parse_csv("r.csv", &bytes).unwrap();
            let rows = &t.sheets[0].1;
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].minor_name, "机动车乱停放");
            assert_eq!(rows[0].source, "r.csv line 2");
        }
    }

    #[test]
    fn missing_columns_are_named() {
        let e = parse_csv("r.csv", "大类代码,小类代码\n01,0101\n".as_bytes()).unwrap_err();
        assert_eq!(e[0].column, "立案条件");
    }

    #[test]
    fn xlsx_round_trip() {
        let classes = builtin_classes();
        let rows = vec![
            RuleRow {
                source: "a".into(),
                kind: "事件".into(),
                minor_code: "0505".into(),
                condition: "机动车占道停放".into(),
                limit: "2小时".into(),
                closing: "车辆已驶离".into(),
                ..Default::default()
            },
            RuleRow {
                source: "b".into(),
                kind: "部件".into(),
                minor_code: "0118".into(),
                condition: "路灯不亮".into(),
                limit: "3个工作日".into(),
                area_class: "一类".into(),
                ..Default::default()
            },
        ];
        let conditions = conditions_from_rows(&rows, None, &classes, &[]).unwrap();
        let name = |c: &str| c.to_owned();
        let bytes = export_xlsx(
            "v1",
            &conditions,
            &ProcessLimits::default(),
            &classes,
            &name,
        )
        .unwrap();
        let parsed = parse_xlsx("r.xlsx", &bytes).unwrap();
        let process = parsed.process.as_ref().unwrap();
        assert_eq!(
            (process.limits.len(), process.warn_at_percent),
            (9, Some(80))
        );
        let mut back = Vec::new();
        for (kind, rows) in &parsed.sheets {
            back.extend(conditions_from_rows(rows, *kind, &classes, &[]).unwrap());
        }
        back.sort_by_key(|c| c.class);
        let mut orig = conditions.clone();
        orig.sort_by_key(|c| c.class);
        assert_eq!(back, orig);
        let csv = export_csv(&conditions, &classes, &name).unwrap();
        let parsed = parse_csv("r.csv", &csv).unwrap();
        assert_eq!(
            conditions_from_rows(&parsed.sheets[0].1, None, &classes, &[]).unwrap(),
            conditions
        );
    }
}
