//! Chinese place names built from parts, unique within a city.

use std::collections::{HashMap, HashSet};

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::rng::{Stream, rng_for};

/// Stems of well-known road names; used first so the main roads sound familiar.
const FAMOUS: &[&str] = &[
    "中山",
    "解放",
    "人民",
    "建设",
    "文化",
    "体育",
    "凤起",
    "庆春",
    "延安",
    "环城",
    "东风",
    "胜利",
    "新华",
    "朝阳",
    "复兴",
    "和平",
    "光明",
    "青年",
    "民主",
    "友谊",
    "团结",
    "振兴",
    "幸福",
    "健康",
    "学院",
    "教工",
    "工人",
    "北京",
    "上海",
    "南京",
    "江南",
    "钱江",
    "湖滨",
    "平海",
    "学士",
    "惠民",
    "吴山",
    "河坊",
    "清泰",
    "望江",
    "秋涛",
    "艮山",
    "石桥",
    "德胜",
    "文一",
    "文二",
    "文三",
    "古墩",
    "保俶",
    "曙光",
    "天目山",
    "莫干山",
    "之江",
    "九堡",
    "机场",
    "新塘",
    "景芳",
    "采荷",
    "凯旋",
    "市心",
    "金城",
    "通惠",
    "育才",
    "萧然",
    "湘湖",
    "博奥",
    "江陵",
    "滨盛",
    "江虹",
    "西兴",
    "长河",
    "浦沿",
    "东信",
    "丰潭",
    "紫荆",
    "五常",
    "良睦",
    "文体",
    "青春",
    "武林",
    "体育场",
    "庆丰",
    "沈塘",
    "三墩",
    "留下",
    "转塘",
    "龙井",
    "虎跑",
    "玉泉",
    "灵隐",
    "北山",
    "南山",
    "孤山",
    "西溪",
    "东新",
    "杭海",
    "德政",
    "永华",
    "长庆",
    "朝晖",
    "潮王",
    "大关",
    "小河",
    "湖墅",
    "登云",
    "莫衙营",
    "众安",
];

/// Stems for the river's embankment roads.
const RIVERSIDE: &[&str] = &[
    "滨江", "沿江", "临江", "望潮", "观澜", "听涛", "江堤", "滨河",
];

const FIRST: &[&str] = &[
    "金", "银", "玉", "翠", "青", "红", "紫", "丹", "碧", "锦", "华", "明", "光", "春", "秋", "晨",
    "星", "云", "霞", "月", "松", "柏", "桂", "兰", "梅", "竹", "荷", "桃", "李", "杏", "枫", "柳",
    "杨", "樟", "桑", "茶", "稻", "凤", "龙", "鹤", "燕", "鹿", "长", "永", "安", "宁", "康", "泰",
    "丰", "庆", "福", "吉", "祥", "瑞", "兴", "盛", "昌", "隆", "德", "仁", "义", "礼", "信", "和",
    "顺", "新", "文", "武", "学", "书", "秀", "清", "润", "泉", "溪", "湖", "江", "河", "海", "港",
    "湾", "洲", "山", "岭", "峰", "石", "岩", "桥", "塘", "东", "西", "南", "北", "中", "上", "下",
    "前", "后", "大", "小", "古", "双", "三", "五", "九", "百", "万", "天", "广", "通", "惠", "育",
];

const SECOND: &[&str] = &[
    "山", "江", "河", "湖", "溪", "泉", "塘", "桥", "湾", "港", "园", "苑", "林", "亭", "台", "阁",
    "坊", "庄", "村", "井", "池", "潭", "洲", "岗", "坡", "坪", "田", "岭", "峰", "门", "城", "堤",
    "渡", "滩", "浦", "浜", "埠", "桂", "兴", "安", "宁", "平", "和", "华", "阳", "明", "光", "新",
    "丰", "源", "景", "乐", "福", "寿", "春", "荣", "盛", "泰", "康", "德",
];

const STREET_STEMS: &[&str] = &[
    "湖滨",
    "清波",
    "小营",
    "望江",
    "紫阳",
    "闸弄口",
    "彭埠",
    "丁兰",
    "笕桥",
    "半山",
    "祥符",
    "康桥",
    "上塘",
    "米市巷",
    "潮鸣",
    "文新",
    "古荡",
    "蒋村",
    "闲林",
    "仓前",
    "良渚",
    "瓶窑",
    "塘栖",
    "崇贤",
    "星桥",
    "南苑",
    "东湖",
    "临平",
    "乔司",
    "运河",
    "临浦",
    "义桥",
    "戴村",
    "河上",
    "楼塔",
    "进化",
    "所前",
    "北干",
    "蜀山",
    "城厢",
    "闻堰",
    "宁围",
    "新街",
    "瓜沥",
    "党湾",
    "益农",
    "衙前",
    "靖江",
    "南阳",
    "河庄",
    "义蓬",
    "新湾",
    "前进",
    "浦阳",
    "白杨",
    "下沙",
    "九堡",
    "四季青",
    "采荷",
    "凯旋",
];

/// 1 → 一, 12 → 十二, 35 → 三十五; numbers of 100 and more stay in digits.
pub(crate) fn zh_number(n: u32) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let d = |k: u32| D[k as usize];
    match n {
        0..=9 => d(n).to_owned(),
        10..=19 => format!("十{}", if n.is_multiple_of(10) { "" } else { d(n % 10) }),
        20..=99 => format!(
            "{}十{}",
            d(n / 10),
            if n.is_multiple_of(10) { "" } else { d(n % 10) }
        ),
        _ => n.to_string(),
    }
}

/// Hands out names so that none repeats anywhere in the city.
pub(crate) struct NameBook {
    used: HashSet<String>,
    /// Stems not yet given to a main road, famous ones first.
    fresh: Vec<String>,
    next_fresh: usize,
    /// Every stem, for branch roads, which may share a stem with a road of another suffix.
    all: Vec<String>,
    riverside_next: usize,
    lanes: HashMap<String, u32>,
    street_stems: Vec<String>,
    next_street: usize,
    community_pool: Vec<String>,
    next_community: usize,
    rng: ChaCha8Rng,
}

impl NameBook {
    pub fn new(seed: u64) -> Self {
        let mut rng = rng_for(seed, Stream::Names, 0, 0);
        let mut famous: Vec<String> = FAMOUS.iter().map(|s| (*s).to_owned()).collect();
        famous.shuffle(&mut rng);
        let mut combos: Vec<String> = FIRST
            .iter()
            .flat_map(|a| SECOND.iter().map(move |b| format!("{a}{b}")))
            .filter(|s| {
                let mut cs = s.chars();
                cs.next() != cs.next()
            })
            .collect();
        combos.shuffle(&mut rng);
        let known: HashSet<&str> = FAMOUS.iter().chain(RIVERSIDE).copied().collect();
        combos.retain(|c| !known.contains(c.as_str()));
        let mut fresh = famous.clone();
        fresh.extend(combos.iter().cloned());
        let mut street_stems: Vec<String> = STREET_STEMS.iter().map(|s| (*s).to_owned()).collect();
        street_stems.shuffle(&mut rng);
        let mut community_pool = combos.clone();
        community_pool.shuffle(&mut rng);
        NameBook {
            used: HashSet::new(),
            all: fresh.clone(),
            fresh,
            next_fresh: 0,
            riverside_next: 0,
            lanes: HashMap::new(),
            street_stems,
            next_street: 0,
            community_pool,
            next_community: 0,
            rng,
        }
    }

    /// Claims a name given by the caller (spec names); false if it was taken.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.used.insert(name.to_owned())
    }

    fn take(&mut self, name: String) -> Option<String> {
        if self.used.contains(&name) {
            None
        } else {
            self.used.insert(name.clone());
            Some(name)
        }
    }

    /// A stem no main road has used yet.
    pub fn fresh_stem(&mut self) -> String {
        let i = self.next_fresh;
        self.next_fresh += 1;
        match self.fresh.get(i) {
            Some(s) => s.clone(),
            // More main roads than stems: numbered stems, checked for clashes by the callers.
            None => {
                let n = self.all.len().max(1);
                let base = self.all.get(i % n).cloned().unwrap_or_default();
                format!("{base}{}", zh_number((i / n) as u32 % 100))
            }
        }
    }

    pub fn riverside_stem(&mut self) -> String {
        let s = RIVERSIDE.get(self.riverside_next).map(|s| (*s).to_owned());
        self.riverside_next += 1;
        s.unwrap_or_else(|| self.fresh_stem())
    }

    /// Names a main road from a stem, e.g. ("中山", "北", "路") → 中山北路.
    pub fn main_road(&mut self, stem: &str, dir: &str, suffix: &str) -> String {
        let name = format!("{stem}{dir}{suffix}");
        if let Some(n) = self.take(name) {
            return n;
        }
        loop {
            let stem = self.fresh_stem();
            if let Some(n) = self.take(format!("{stem}{dir}{suffix}")) {
                return n;
            }
        }
    }

    /// A branch road: any stem with 路/街/巷/里, so stems are shared but names are not.
    pub fn branch_road(&mut self) -> (String, String) {
        const SUFFIXES: [&str; 5] = ["路", "街", "巷", "里", "巷"];
        for _ in 0..64 {
            let stem = self.all[self.rng.random_range(0..self.all.len())].clone();
            let suffix = SUFFIXES[self.rng.random_range(0..SUFFIXES.len())];
            if let Some(n) = self.take(format!("{stem}{suffix}")) {
                return (n, stem);
            }
        }
        for k in 0..self.all.len() * SUFFIXES.len() {
            let stem = self.all[k / SUFFIXES.len()].clone();
            if let Some(n) = self.take(format!("{stem}{}", SUFFIXES[k % SUFFIXES.len()])) {
                return (n, stem);
            }
        }
        let stem = self.fresh_stem();
        let n = self.main_road(&stem, "", "巷");
        (n, stem)
    }

    /// A lane off a road with this stem: 湖滨一弄, 湖滨二弄, …
    pub fn lane(&mut self, stem: &str) -> String {
        loop {
            let k = self.lanes.entry(stem.to_owned()).or_insert(0);
            *k += 1;
            let k = *k;
            let name = if k < 100 {
                format!("{stem}{}弄", zh_number(k))
            } else {
                format!("{stem}{k}弄")
            };
            if let Some(n) = self.take(name) {
                return n;
            }
        }
    }

    pub fn street(&mut self) -> String {
        loop {
            let stem = match self.street_stems.get(self.next_street) {
                Some(s) => s.clone(),
                None => {
                    self.community_pool[self.next_street % self.community_pool.len().max(1)].clone()
                }
            };
            self.next_street += 1;
            if let Some(n) = self.take(format!("{stem}街道")) {
                return n;
            }
        }
    }

    pub fn community(&mut self) -> String {
        loop {
            let i = self.next_community;
            self.next_community += 1;
            let pool = self.community_pool.len().max(1);
            let stem = self
                .community_pool
                .get(i % pool)
                .cloned()
                .unwrap_or_default();
            let name = if i < pool {
                format!("{stem}社区")
            } else {
                format!("{stem}{}社区", zh_number((i / pool) as u32 + 1))
            };
            if let Some(n) = self.take(name) {
                return n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        assert_eq!(zh_number(3), "三");
        assert_eq!(zh_number(10), "十");
        assert_eq!(zh_number(14), "十四");
        assert_eq!(zh_number(40), "四十");
        assert_eq!(zh_number(99), "九十九");
    }

    #[test]
    fn names_do_not_repeat() {
        let mut b = NameBook::new(1);
        let mut seen = HashSet::new();
        for _ in 0..3000 {
            let s = b.fresh_stem();
            assert!(seen.insert(b.main_road(&s, "", "路")));
            assert!(seen.insert(b.branch_road().0));
            assert!(seen.insert(b.lane(&s)));
        }
        for _ in 0..500 {
            assert!(seen.insert(b.community()));
        }
        for _ in 0..100 {
            assert!(seen.insert(b.street()));
        }
    }
}
