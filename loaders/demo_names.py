"""Believable Chinese names for the demo programme: companies, communities, people, texts.

Every company name is invented; any likeness to a real company is chance.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from geo import codes

INSURER_STEMS = ["安澜", "泰和", "恒信", "中诚", "永宁", "华晟", "德润", "嘉禾", "瑞丰", "正元",
                 "信达远", "博安"]
REINSURER_STEMS = ["中安", "华融", "东方", "瀚海"]
TIS_STEMS = ["建研", "筑安", "华信", "正衡", "中科建", "安居"]
DEVELOPER_STEMS = ["云海", "金碧", "翠湖", "春城", "宏达", "龙润", "新世纪", "锦程", "鼎盛", "滇峰",
                   "华府", "时代", "万象", "蓝光", "星河", "阳光", "银泰", "东盛", "天骄", "盛世",
                   "嘉和", "恒泰", "紫云", "中瑞"]
CONTRACTOR_STEMS = ["建工", "宏盛", "华建", "城建", "路桥", "中天", "鸿业", "远大", "金鼎", "泰山",
                    "三建", "四建", "东方", "华兴", "兴业", "长江"]
SUPERVISOR_STEMS = ["建诚", "正信", "诚达", "华审", "方圆", "中咨", "精诚", "明达", "信诚", "恒正"]
DESIGNER_STEMS = ["城市规划", "建筑", "华夏", "中南", "西南", "同创", "启明", "筑梦"]
SURVEYOR_STEMS = ["地质", "勘测", "华岳", "华勘", "地矿", "中勘"]
REPAIRER_STEMS = ["安家", "居安", "修缮", "宜居", "邦家", "匠心", "和顺"]

COMMUNITY_WORDS = ["云溪", "锦绣", "翠湖", "春晓", "滇池", "紫薇", "金色", "枫林", "碧桂", "御景",
                   "书香", "花语", "青山", "明珠", "玉兰", "湖畔", "橡树", "天悦", "悦澜", "雅居",
                   "星月", "阳光", "香樟", "锦江", "澜庭", "宜家", "海棠", "观澜", "山水", "长安"]
COMMUNITY_SUFFIXES = ["雅苑", "花园", "府", "公馆", "华庭", "家园", "名都", "湾", "新城", "里",
                      "御府", "嘉园", "小区", "壹号院"]
PHASES = ["", "一期", "二期", "三期", "A区", "B区", "北区", "南区"]
ROAD_WORDS = ["人民", "建设", "学府", "环城", "北京", "春城", "滇池", "金马", "青年", "东风",
              "兴隆", "和平", "长虹", "新华", "文化", "迎宾", "光明", "福德"]
ROAD_SUFFIXES = ["路", "街", "大道", "东路", "西路", "北路", "南路"]

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红玉兰文斌宇浩凯鹏飞琳")

EVENT_TEXTS = {
    "foundation": ["桩基检测报告未按要求提交", "基坑支护局部变形超出预警值", "地基承载力检测点数量不足"],
    "structure": ["剪力墙钢筋保护层厚度不足", "梁板混凝土表面出现裂缝", "悬挑构件支撑体系拆除过早",
                  "构造柱与墙体拉结筋缺失"],
    "waterproofing": ["地下室底板局部渗水", "屋面防水卷材搭接长度不足", "卫生间闭水试验不合格"],
    "insulation": ["外墙保温板粘结面积不足", "保温层锚栓数量不足", "保温材料进场检验缺失"],
    "facade": ["外墙面砖空鼓", "外墙涂料基层开裂"],
    "windows": ["外窗框与墙体间缝隙未封堵", "外窗淋水试验渗漏"],
    "installation": ["给排水管道穿楼板处封堵不严", "电气预埋管堵塞"],
    "other": ["施工资料与实体不符", "材料进场复检记录不全"],
}
CLAIM_CAUSES = {
    "insulation_waterproofing": ["卫生间防水层失效渗漏至楼下", "屋面防水层破损渗漏", "外墙窗边渗水",
                                 "地下车库顶板渗漏", "外墙保温层空鼓脱落"],
    "structure": ["阳台悬挑板出现裂缝", "楼板出现贯穿裂缝", "外墙局部坍塌脱落", "地基不均匀沉降致墙体开裂"],
}
EXCLUSION_REASONS = {
    "owner_fault": "业主自行改动卫生间防水层所致，属于除外责任",
    "third_party": "邻户装修施工破坏管线所致，属于第三方责任",
    "force_majeure": "暴雨等不可抗力所致，不属于保险责任",
}


def company_names(rng: np.random.Generator, stems: list[str], suffix: str, n: int,
                  prefix: str = "") -> list[str]:
    """``n`` distinct company names built from the stems."""
    picked = rng.choice(len(stems), size=min(n, len(stems)), replace=False)
    return [f"{prefix}{stems[i]}{suffix}" for i in picked]


def uscc(rng: np.random.Generator, city_code: str, taken: set[str]) -> str:
    """A fresh unified social credit code (91: an enterprise) with a correct check character."""
    while True:
        body = "".join(rng.choice(list(codes.USCC_ALPHABET), size=9))
        first17 = "91" + city_code + body
        code = first17[:17] + codes.uscc_check_char(first17[:17])
        if code not in taken:
            taken.add(code)
            return code


def pick(rng: np.random.Generator, options: Sequence):
    """One of the options, uniformly: ``rng.choice`` costs ~20 µs a call (it copies the list
    into an array), and the demo draws millions of them at 200,000 projects."""
    return options[int(rng.integers(len(options)))]


def pick_weighted(rng: np.random.Generator, options: Sequence, cumulative: Sequence[float]):
    """One of the options with the given cumulative weights (the last is the total)."""
    i = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
    return options[min(i, len(options) - 1)]


def person(rng: np.random.Generator) -> str:
    given = "".join(pick(rng, GIVEN) for _ in range(int(rng.integers(1, 3))))
    return pick(rng, SURNAMES) + given


def phone(rng: np.random.Generator) -> str:
    return "1" + pick(rng, ("38", "39", "58", "86", "87", "35")) + "".join(
        str(d) for d in rng.integers(0, 10, size=8))


def community(rng: np.random.Generator) -> str:
    return pick(rng, COMMUNITY_WORDS) + pick(rng, COMMUNITY_SUFFIXES)


def address(rng: np.random.Generator, district_name: str) -> str:
    road = pick(rng, ROAD_WORDS) + pick(rng, ROAD_SUFFIXES)
    return f"{district_name}{road}{int(rng.integers(1, 999))}号"


def unit_no(rng: np.random.Generator) -> str:
    floor = int(rng.integers(1, 33))
    return (f"{int(rng.integers(1, 20))}栋{int(rng.integers(1, 4))}单元"
            f"{floor}{int(rng.integers(1, 7)):02d}室")
