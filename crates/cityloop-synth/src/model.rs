//! The generated city: plain data, so callers can store, serialise or compare it.

use geo_types::{LineString, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

/// Everything [`crate::generate`] produces. Components are not here: there can be ten million of
/// them, so [`crate::components`] streams them from a `City`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct City {
    pub district: AreaShape,
    /// Sorted by code.
    pub streets: Vec<AreaShape>,
    /// Sorted by code.
    pub communities: Vec<AreaShape>,
    /// Sorted by code.
    pub grids: Vec<GridShape>,
    pub roads: Vec<Road>,
    pub addresses: Vec<Address>,
    pub responsibility: Vec<ResponsibilityGrid>,
}

/// A district, street (街道) or community (社区) outline in WGS84 lon/lat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaShape {
    pub code: String,
    pub name: String,
    pub polygon: MultiPolygon<f64>,
}

/// What a unit grid mostly is; decides which components are placed inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandUse {
    /// Built-up blocks: housing, shops, offices.
    Built,
    /// Public parks (公园绿地).
    Park,
    /// The river (水域).
    Water,
}

/// A unit grid (单元网格). The exterior ring is counter-clockwise and shares exact vertex
/// coordinates with its neighbours, including the T-junction vertices where a neighbour's
/// boundary ends on this grid's side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridShape {
    /// 14 digits: community code + 2-digit serial.
    pub code: String,
    pub community_code: String,
    pub polygon: Polygon<f64>,
    /// Planar area in a local projection around the city centre.
    pub area_m2: f64,
    pub land_use: LandUse,
}

/// Road classes of the Chinese urban road standard (CJJ 37).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoadKind {
    /// 主干路
    Arterial,
    /// 次干路
    Secondary,
    /// 支路
    Branch,
    /// 街巷 (巷, 弄)
    Lane,
}

impl RoadKind {
    /// Half the kerb-to-kerb-plus-pavement width, used to put things beside the road.
    pub fn half_width_m(self) -> f64 {
        match self {
            RoadKind::Arterial => 18.0,
            RoadKind::Secondary => 12.0,
            RoadKind::Branch => 7.0,
            RoadKind::Lane => 3.5,
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            RoadKind::Arterial => "主干路",
            RoadKind::Secondary => "次干路",
            RoadKind::Branch => "支路",
            RoadKind::Lane => "街巷",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A named road as its centre line, oriented west→east or north→south. The line runs along
/// grid edges and contains every grid vertex it passes, so junctions are shared vertices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Road {
    pub name: String,
    pub kind: RoadKind,
    pub line: LineString<f64>,
}

/// A door-plate address (门牌): odd numbers on the left of the road's direction, even on the right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// e.g. "临江区江滨街道解放路128号"
    pub text: String,
    pub road: String,
    pub number: u32,
    pub lon: f64,
    pub lat: f64,
    pub community_code: String,
}

/// A responsibility grid (责任网格): the unit grids one inspector patrols.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsibilityGrid {
    /// Street code + "R" + 3-digit serial within the street, e.g. `330188001R002`.
    pub code: String,
    pub name: String,
    pub street_code: String,
    pub grid_codes: Vec<String>,
}

/// A component (部件).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// 16 digits: county code + class code + 6-digit serial per county and class.
    pub id: String,
    pub class_code: String,
    pub lon: f64,
    pub lat: f64,
    /// The grid that contains the point.
    pub grid_code: String,
    pub state: ComponentState,
    pub owner: OwnerKind,
    /// The road it stands beside, for things placed along roads.
    pub road: Option<String>,
}

/// Component states of GB/T 30428.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    /// 完好
    Intact,
    /// 破损
    Damaged,
    /// 丢失
    Missing,
    /// 占用
    Occupied,
    /// 废弃
    Abandoned,
}

impl ComponentState {
    /// The code the cityloop store uses.
    pub fn code(self) -> &'static str {
        match self {
            ComponentState::Intact => "intact",
            ComponentState::Damaged => "damaged",
            ComponentState::Missing => "missing",
            ComponentState::Occupied => "occupied",
            ComponentState::Abandoned => "abandoned",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ComponentState::Intact => "完好",
            ComponentState::Damaged => "破损",
            ComponentState::Missing => "丢失",
            ComponentState::Occupied => "占用",
            ComponentState::Abandoned => "废弃",
        }
    }
}

/// Which kind of department owns a component; the caller maps these to its department codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// 供水 (water supply company)
    Water,
    /// 排水 (sewage and storm drainage)
    Sewage,
    /// 供电
    Power,
    /// 通信 (telecom operators)
    Telecom,
    /// 燃气
    Gas,
    /// 消防
    Fire,
    /// 市政 (roads, street lights, name plates)
    MunicipalWorks,
    /// 环卫
    Sanitation,
    /// 园林绿化
    Parks,
    /// 交警 (signals, signs, guard rails)
    Traffic,
    /// 交通运输 (bus shelters, parking)
    Transport,
    /// 公安 (surveillance cameras)
    PublicSecurity,
    /// 宣传 (newsstands, notice boards)
    Publicity,
    /// 城管 (billboards and shop signs)
    UrbanManagement,
    /// 住建 (construction sites)
    Construction,
    /// 体育 (fitness equipment)
    Sports,
}

/// A component class of GB/T 30428.2 that the generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ComponentClass {
    /// 4 digits: major + minor class.
    pub code: &'static str,
    pub name: &'static str,
    pub owner: OwnerKind,
}

macro_rules! classes {
    ($($variant:ident = $code:literal $name:literal $owner:ident;)*) => {
        /// Index into [`COMPONENT_CLASSES`]; internal so the table can grow.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Cls { $($variant),* }

        /// The classes the generator emits, in class-code order.
        pub const COMPONENT_CLASSES: &[ComponentClass] = &[
            $(ComponentClass { code: $code, name: $name, owner: OwnerKind::$owner }),*
        ];
    };
}

classes! {
    WaterCover = "0101" "上水井盖" Water;
    SewageCover = "0102" "污水井盖" Sewage;
    RainCover = "0103" "雨水井盖" Sewage;
    RainGrate = "0104" "雨水箅子" Sewage;
    PowerCover = "0105" "电力井盖" Power;
    TelecomCover = "0107" "通讯井盖" Telecom;
    GasCover = "0111" "燃气井盖" Gas;
    Hydrant = "0113" "消防设施" Fire;
    TelecomBox = "0115" "通讯交接箱" Telecom;
    Pole = "0117" "立杆" Power;
    Lamp = "0118" "路灯" MunicipalWorks;
    Newsstand = "0121" "报刊亭" Publicity;
    Fitness = "0126" "健身设施" Sports;
    Transformer = "0134" "变压器(箱)" Power;
    Camera = "0136" "监控电子眼" PublicSecurity;
    Parking = "0201" "停车场" Transport;
    BusShelter = "0203" "公交站亭" Transport;
    TrafficSign = "0209" "交通标志牌" Traffic;
    TrafficLight = "0210" "交通信号灯" Traffic;
    Guardrail = "0211" "交通护栏" Traffic;
    BikeRack = "0212" "存车支架" Transport;
    NamePlate = "0213" "路名牌" MunicipalWorks;
    Toilet = "0301" "公共厕所" Sanitation;
    Bin = "0305" "垃圾箱" Sanitation;
    Billboard = "0307" "广告牌匾" UrbanManagement;
    Tree = "0402" "行道树" Parks;
    Green = "0405" "绿地" Parks;
    Bench = "0407" "街头坐椅" Parks;
    Notice = "0501" "宣传栏" Publicity;
    Site = "0602" "工地" Construction;
}

impl Cls {
    pub(crate) fn info(self) -> &'static ComponentClass {
        &COMPONENT_CLASSES[self as usize]
    }
}

/// Looks a class up by its 4-digit code.
pub fn component_class(code: &str) -> Option<&'static ComponentClass> {
    COMPONENT_CLASSES.iter().find(|c| c.code == code)
}
