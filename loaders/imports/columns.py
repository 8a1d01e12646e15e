"""The columns each import accepts: Chinese and English headers, units, parsers, examples.

One table per kind of file. Templates (`riskmap template`), header matching and
the README's column tables are all made from these definitions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

UNIT_SUFFIXES = ("元", "万元", "m²", "㎡", "m2", "平方米", "%", "‰", "户", "套")


@dataclass(frozen=True)
class Column:
    name: str                    # English header, also the key rows are parsed into
    zh: str                      # Chinese header written into templates
    parse: str                   # parser: text, date, money, rate, share, int, area, uscc,
    #                              district, bool, lon, lat, or label:<vocabulary>
    required: bool = False
    unit: str = ""
    example: str = ""
    help: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def template_header(self) -> str:
        return f"{self.zh}（{self.unit}）" if self.unit else self.zh

    def headers(self) -> tuple[str, ...]:
        return (self.name, self.zh, *self.aliases)


def normalise_header(header: str) -> str:
    """A header reduced for matching: NFKC, no spaces, no unit in brackets, lower case.

    >>> normalise_header(" 保费（万元）"), normalise_header("Gross Floor Area (m²)")
    ('保费', 'grossfloorarea')
    """
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    text = re.sub(r"[(\[（【][^)\]）】]*[)\]）】]$", "", text)
    return re.sub(r"[\s_/]+", "", text)


ORGANISATIONS = (
    Column("name", "单位名称", "text", True, example="安澜财产保险股份有限公司",
           help="全称，与其他文件中的写法一致", aliases=("名称", "企业名称", "organisation")),
    Column("kind", "单位类型", "label:organisation_kind", True, example="保险公司",
           help="保险公司、再保险公司、风险管理机构、建设单位、施工单位、设计单位、勘察单位、监理单位、维修单位",
           aliases=("类型", "type")),
    Column("uscc", "统一社会信用代码", "uscc", example="91350100M000100Y43",
           help="18位，校验位必须正确；境外再保险公司可空", aliases=("信用代码", "社会信用代码")),
    Column("short_name", "简称", "text", example="安澜财险"),
    Column("claim_hotline", "报案电话", "text", example="400-123-4567",
           help="保险公司的理赔报案电话", aliases=("理赔电话", "客服电话", "hotline")),
)

PROJECTS = (
    Column("permit_no", "报建号", "text", True, example="530102-2023-0001",
           help="项目的唯一编号；再次导入同一报建号即更新该项目",
           aliases=("报建编号", "项目编号", "施工许可证号")),
    Column("project_name", "项目名称", "text", True, example="翠湖雅苑二期", aliases=("工程名称", "name")),
    Column("community", "小区名称", "text", example="翠湖雅苑", aliases=("小区", "住宅小区")),
    Column("address", "项目地址", "text", example="五华区人民西路100号", aliases=("地址", "工程地址")),
    Column("district", "所在区县", "district", example="五华区",
           help="区县名称或6位行政区划代码；为空时按坐标确定", aliases=("区县", "行政区", "区县代码")),
    Column("lon", "经度", "lon", example="102.7046",
           help="十进制度或度分秒；坐标系见 --crs（默认 WGS84）；高斯-克吕格投影坐标填 X", aliases=("x", "longitude", "东经")),
    Column("lat", "纬度", "lat", example="25.0406",
           help="十进制度或度分秒；高斯-克吕格投影坐标填 Y", aliases=("y", "latitude", "北纬")),
    Column("developer", "建设单位", "text", True, example="云海置业有限公司",
           help="单位名称；不存在时自动新建", aliases=("开发商", "投保人")),
    Column("developer_uscc", "建设单位统一社会信用代码", "uscc", example="91530100MA6K7XQ127"),
    Column("contractor", "施工单位", "text", example="宏盛建设集团有限公司", aliases=("总包单位",)),
    Column("supervisor", "监理单位", "text", example="建诚工程监理有限公司"),
    Column("designer", "设计单位", "text", example="启明设计研究院有限公司"),
    Column("surveyor", "勘察单位", "text", example="华勘岩土工程勘察有限公司"),
    Column("gross_floor_area", "建筑面积", "area", True, "㎡", "125000",
           aliases=("总建筑面积", "gross_floor_area_m2")),
    Column("units", "户数", "int", True, "户", "1150", aliases=("套数", "住宅套数")),
    Column("construction_cost", "建安造价", "money", True, "万元", "45000",
           help="表头写明单位：元 或 万元", aliases=("建安工程造价", "工程造价", "construction_cost_yuan")),
    Column("stage", "项目阶段", "label:stage", True, example="主体结构施工",
           help="报建、地基基础施工、主体结构施工、装饰装修施工、竣工验收、已交付",
           aliases=("形象进度", "工程进度")),
    Column("start_date", "开工日期", "date", example="2023-03-01"),
    Column("completion_date", "竣工验收日期", "date", example="",
           help="竣工验收合格之日；保险责任自此日起两年后开始", aliases=("竣工日期", "竣工验收合格日期")),
    Column("delivery_date", "交付日期", "date", example="", aliases=("交房日期",)),
)


def known_headers(columns: tuple[Column, ...]) -> set[str]:
    """Every header text a file may use for these columns, with and without a unit."""
    found = set()
    for column in columns:
        for header in column.headers():
            found.add(header)
            found.update(f"{header}({unit})" for unit in UNIT_SUFFIXES)
            found.update(f"{header}（{unit}）" for unit in UNIT_SUFFIXES)
    return found


def match_headers(headers: list[str], columns: tuple[Column, ...]) -> dict[str, Column]:
    """Which column each header of a file means (headers that mean none are left out)."""
    by_text = {normalise_header(h): c for c in columns for h in c.headers()}
    return {h: by_text[normalise_header(h)] for h in headers if normalise_header(h) in by_text}
