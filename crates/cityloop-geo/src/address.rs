//! Standard addresses (地理编码, GB/T 30428.3): normalising Chinese address text and matching it
//! against a gazetteer with a score.
//!
//! Matching works on the normalised text: full-width characters folded, Chinese numerals in house
//! numbers turned into digits, administrative prefixes the gazetteer shares dropped, and the text
//! split into a road name and a house number. An exact road + number match scores 1.0; the same road
//! with the nearest number scores lower by the distance in numbers; otherwise character-bigram
//! similarity ranks the candidates.

use std::collections::{HashMap, HashSet};

/// Folds full-width ASCII to half-width and removes spaces and punctuation that carry no meaning.
///
/// ```
/// use cityloop_geo::address::fold;
/// assert_eq!(fold("解放路　１２８号（东门）"), "解放路128号(东门)");
/// ```
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .filter(|c| !matches!(c, '\u{3000}' | ' ' | '\t' | '\n' | '\r' | '·' | '、' | ','))
        .collect()
}

fn digit_of(c: char) -> Option<u32> {
    match c {
        '零' | '〇' => Some(0),
        '一' | '壹' => Some(1),
        '二' | '两' | '贰' => Some(2),
        '三' | '叁' => Some(3),
        '四' | '肆' => Some(4),
        '五' | '伍' => Some(5),
        '六' | '陆' => Some(6),
        '七' | '柒' => Some(7),
        '八' | '捌' => Some(8),
        '九' | '玖' => Some(9),
        _ => None,
    }
}

/// Value of a run of Chinese numerals such as 一百二十八, 三十, 十二, 一二八 (digit by digit).
fn chinese_number(run: &[char]) -> Option<u32> {
    if run.is_empty() {
        return None;
    }
    let has_units = run
        .iter()
        .any(|c| matches!(c, '十' | '百' | '千' | '拾' | '佰' | '仟'));
    if !has_units {
        return run.iter().try_fold(0u32, |acc, c| {
            acc.checked_mul(10)?.checked_add(digit_of(*c)?)
        });
    }
    let mut total = 0u32;
    let mut current: Option<u32> = None;
    for c in run {
        let unit = match c {
            '十' | '拾' => Some(10),
            '百' | '佰' => Some(100),
            '千' | '仟' => Some(1000),
            _ => None,
        };
        match unit {
            Some(u) => {
                total = total.checked_add(current.unwrap_or(1).checked_mul(u)?)?;
                current = None;
            }
            None => current = Some(digit_of(*c)?),
        }
    }
    total.checked_add(current.unwrap_or(0))
}

/// Replaces Chinese numerals that precede a house-number word (号, 栋, 幢, 单元, 室, 楼) with digits:
/// 解放路一百二十八号 → 解放路128号. Numerals elsewhere are names and stay (一中路, 三里亭, and lanes
/// such as 湖滨三弄, where the numeral is part of the lane's name).
pub fn numerals_to_digits(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let is_numeral =
            |c: char| digit_of(c).is_some() || matches!(c, '十' | '百' | '千' | '拾' | '佰' | '仟');
        if chars.get(i).copied().is_some_and(is_numeral) {
            let start = i;
            while chars.get(i).copied().is_some_and(is_numeral) {
                i += 1;
            }
            let run = chars.get(start..i).unwrap_or_default();
            let follows_number_word = chars
                .get(i)
                .is_some_and(|c| matches!(c, '号' | '栋' | '幢' | '单' | '室' | '楼'));
            match chinese_number(run) {
                Some(n) if follows_number_word => out.push_str(&n.to_string()),
                _ => out.extend(run.iter()),
            }
        } else if let Some(c) = chars.get(i) {
            out.push(*c);
            i += 1;
        }
    }
    out
}

/// An address split into its road (or place) part and house number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAddress {
    /// Normalised full text, without the shared prefixes.
    pub normalized: String,
    /// The road, lane or place name before the number (解放路, 湖滨三弄).
    pub road: String,
    /// The house number (门牌号).
    pub number: Option<u32>,
    /// Anything after the number (building, room, landmark).
    pub rest: String,
}

const ROAD_SUFFIXES: [&str; 8] = ["大道", "路", "街", "巷", "弄", "道", "里", "胡同"];

/// Normalises `text`, drops any of `prefixes` (province, city, district, street names the whole
/// gazetteer shares) from its start, and splits road and number.
///
/// ```
/// use cityloop_geo::address::parse;
/// let a = parse("浙江省杭州市临江区江滨街道 解放路一百二十八号 3幢", &["浙江省", "杭州市", "临江区", "江滨街道"]);
/// assert_eq!((a.road.as_str(), a.number, a.rest.as_str()), ("解放路", Some(128), "3幢"));
/// ```
pub fn parse(text: &str, prefixes: &[&str]) -> ParsedAddress {
    let mut s = numerals_to_digits(&fold(text));
    loop {
        let before = s.len();
        for p in prefixes {
            if let Some(rest) = s.strip_prefix(p) {
                s = rest.to_owned();
            }
        }
        if s.len() == before {
            break;
        }
    }
    let normalized = s.clone();
    // The house number is the first run of digits followed by 号 (or a bare trailing run).
    let chars: Vec<char> = s.chars().collect();
    let mut split = None;
    let mut i = 0;
    while i < chars.len() {
        if chars.get(i).is_some_and(char::is_ascii_digit) {
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            let ends = chars.get(i).is_none_or(|c| *c == '号');
            let road: String = chars.get(..start).unwrap_or_default().iter().collect();
            if ends && ROAD_SUFFIXES.iter().any(|suf| road.ends_with(suf)) {
                split = Some((start, i));
                break;
            }
        } else {
            i += 1;
        }
    }
    match split {
        Some((start, end)) => {
            let road = chars.get(..start).unwrap_or_default().iter().collect();
            let number = chars
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .collect::<String>()
                .parse()
                .ok();
            let after = chars.get(end..).unwrap_or_default();
            let rest = after
                .strip_prefix(&['号'])
                .unwrap_or(after)
                .iter()
                .collect();
            ParsedAddress {
                normalized,
                road,
                number,
                rest,
            }
        }
        None => ParsedAddress {
            normalized: normalized.clone(),
            road: normalized,
            number: None,
            rest: String::new(),
        },
    }
}

fn bigrams(s: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = s.chars().collect();
    chars
        .windows(2)
        .filter_map(|w| Some((*w.first()?, *w.get(1)?)))
        .collect()
}

/// Dice similarity of character bigrams, 0.0–1.0.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let common = x.intersection(&y).count();
    2.0 * common as f64 / (x.len() + y.len()) as f64
}

/// One gazetteer entry, as the matcher needs it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The caller's id of the address.
    pub id: i64,
    /// Normalised road name, as [`parse`] returns it.
    pub road: String,
    /// House number, if any.
    pub number: Option<u32>,
    /// Normalised full text.
    pub normalized: String,
}

/// A scored candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The entry's id.
    pub id: i64,
    /// 1.0 exact; lower for a nearby number on the same road or a similar text.
    pub score: f64,
}

/// In-memory gazetteer for forward geocoding.
pub struct Gazetteer {
    entries: Vec<Entry>,
    by_road: HashMap<String, Vec<usize>>,
    prefixes: Vec<String>,
}

impl Gazetteer {
    /// `prefixes`: administrative names every address may start with (province, city, district,
    /// street names), dropped before matching.
    pub fn new(entries: Vec<Entry>, prefixes: Vec<String>) -> Gazetteer {
        let mut by_road: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_road.entry(e.road.clone()).or_default().push(i);
        }
        Gazetteer {
            entries,
            by_road,
            prefixes,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses `text` with this gazetteer's prefixes.
    pub fn parse(&self, text: &str) -> ParsedAddress {
        let prefixes: Vec<&str> = self.prefixes.iter().map(String::as_str).collect();
        parse(text, &prefixes)
    }

    /// The best `limit` matches for `text`, best first.
    pub fn search(&self, text: &str, limit: usize) -> Vec<Match> {
        let q = self.parse(text);
        let mut out: Vec<Match> = Vec::new();
        if let Some(same_road) = self.by_road.get(&q.road) {
            for &i in same_road {
                let Some(e) = self.entries.get(i) else {
                    continue;
                };
                let score = match (q.number, e.number) {
                    (Some(a), Some(b)) if a == b => 1.0,
                    // Same side of the road (same parity) is closer than the other side.
                    (Some(a), Some(b)) => {
                        let gap = f64::from(a.abs_diff(b));
                        let side = if a % 2 == b % 2 { 0.0 } else { 0.05 };
                        (0.9 - side - gap / 400.0).max(0.5)
                    }
                    (None, _) => 0.6,
                    (Some(_), None) => 0.55,
                };
                out.push(Match { id: e.id, score });
            }
        }
        if out.iter().all(|m| m.score < 1.0) {
            // Fuzzy: similar road names or texts (typos, missing 路, a landmark name).
            for e in &self.entries {
                let s = similarity(&q.road, &e.road).max(similarity(&q.normalized, &e.normalized));
                if s >= 0.5 {
                    let number_bonus = match (q.number, e.number) {
                        (Some(a), Some(b)) if a == b => 0.1,
                        _ => 0.0,
                    };
                    out.push(Match {
                        id: e.id,
                        score: (s * 0.85 + number_bonus).min(0.95),
                    });
                }
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        out.dedup_by_key(|m| m.id);
        out.truncate(limit);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        assert_eq!(numerals_to_digits("解放路一百二十八号"), "解放路128号");
        assert_eq!(numerals_to_digits("一中路十二号"), "一中路12号");
        assert_eq!(numerals_to_digits("湖滨三弄"), "湖滨三弄");
        assert_eq!(numerals_to_digits("三里亭二十号"), "三里亭20号");
        assert_eq!(numerals_to_digits("一二八号"), "128号");
        assert_eq!(numerals_to_digits("两百号"), "200号");
    }

    #[test]
    fn parsing() {
        let p = parse("临江区解放路１２８号", &["临江区"]);
        assert_eq!((p.road.as_str(), p.number), ("解放路", Some(128)));
        let p = parse("湖滨三弄7号", &[]);
        assert_eq!((p.road.as_str(), p.number), ("湖滨三弄", Some(7)));
        let p = parse("人民广场", &[]);
        assert_eq!((p.road.as_str(), p.number), ("人民广场", None));
    }

    #[test]
    fn search_ranks_exact_then_near_then_fuzzy() {
        let entries = vec![
            Entry {
                id: 1,
                road: "解放路".into(),
                number: Some(128),
                normalized: "解放路128号".into(),
            },
            Entry {
                id: 2,
                road: "解放路".into(),
                number: Some(130),
                normalized: "解放路130号".into(),
            },
            Entry {
                id: 3,
                road: "解放路".into(),
                number: Some(129),
                normalized: "解放路129号".into(),
            },
            Entry {
                id: 4,
                road: "中山北路".into(),
                number: Some(8),
                normalized: "中山北路8号".into(),
            },
        ];
        let g = Gazetteer::new(entries, vec!["临江区".into()]);
        let m = g.search("临江区解放路一百二十八号", 3);
        assert_eq!(m[0], Match { id: 1, score: 1.0 });
        let m = g.search("解放路132号", 3);
        assert_eq!(m[0].id, 2, "nearest number on the same side");
        assert!(m[0].score < 1.0 && m[0].score > m[1].score);
        let m = g.search("中山北8号", 3);
        assert_eq!(
            m.first().map(|x| x.id),
            Some(4),
            "a missing 路 still finds the road"
        );
        assert!(g.search("完全无关的地方", 3).is_empty());
    }
}
