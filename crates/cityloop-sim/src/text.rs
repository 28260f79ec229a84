//! Notes, reasons and descriptions in the style of a centre's case log.

pub const VERIFY_OK: &[&str] = &[
    "现场核实属实",
    "经现场核实，问题存在",
    "已到现场核实，情况属实",
];
pub const VERIFY_NOT_FOUND: &[&str] = &[
    "现场未发现所述问题",
    "到场查看，问题不存在",
    "告警误报，现场无异常",
    "问题已自行消除",
];
pub const DECLINE: &[&str] = &[
    "经核实问题不存在，不予受理",
    "核实未发现问题，不予受理",
    "问题已消除，不予受理",
];
pub const REJECT: &[&str] = &[
    "不属于城市管理范畴，不予立案",
    "不符合立案条件",
    "属于小区物业管理范围，不予立案",
];
pub const VOID: &[&str] = &["信息录入错误，作废", "重复录入，作废"];
pub const RETURN: &[&str] = &[
    "非本单位职责范围，申请回退",
    "权属不清，申请重新派遣",
    "该设施已移交其他单位管理，申请回退",
];
pub const REFUSE_RETURN: &[&str] = &["经核实属于该单位职责，请继续处置", "回退理由不成立"];
pub const EXTENSION: &[&str] = &[
    "需协调产权单位，申请延期",
    "材料采购周期较长，申请延期",
    "受天气影响无法施工，申请延期",
    "需办理占道施工手续，申请延期",
];
pub const REJECT_EXTENSION: &[&str] = &["延期理由不充分，请按时处置", "请按原时限完成处置"];
pub const PARK: &[&str] = &[
    "需纳入年度维修计划，资金尚未到位",
    "涉及历史遗留问题，需区政府协调",
    "待道路改造工程统一实施",
];
pub const DEFER: &[&str] = &[
    "重大活动保障期间，暂缓处置",
    "恶劣天气，暂缓处置",
    "等待上级统一部署，暂缓处置",
];
pub const FEEDBACK: &[&str] = &[
    "已处置完毕",
    "已清理完毕",
    "已维修完毕",
    "已督促当事人整改到位",
    "已按要求处置",
];
pub const REFEEDBACK: &[&str] = &["已重新处置完毕", "已返工整改到位"];
pub const CHECK_PASS: &[&str] = &["现场核查已处置到位", "核查通过", "经核查问题已解决"];
pub const CHECK_FAIL: &[&str] = &[
    "现场核查未处置到位",
    "处置不彻底，仍有残留",
    "问题反弹，需重新处置",
];
pub const SUPERVISE: &[&str] = &["请抓紧处置并反馈结果", "群众反映强烈，限期解决"];
pub const REMIND: &[&str] = &[
    "案件已超期，请尽快处置",
    "请加快处置进度",
    "超期未处置，请立即处理",
];
pub const REOPEN: &[&str] = &["市民反映问题复发，重新派遣", "回访不满意，重新处置"];
