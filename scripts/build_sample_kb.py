"""Build the binary files of the sample knowledge base (tenant ``nova``).

The Markdown, HTML, TXT, CSV and JSONL articles in ``examples/kb`` are edited by
hand. The binary formats (DOCX, PDF, PPTX, XLSX) cannot be reviewed in a diff, so
their text lives here and this script regenerates them, together with their
``<file>.meta.yaml`` sidecars. The generated files are committed, so the sample
KB works without running this script.

The output is deterministic: document core properties carry fixed dates, ZIP
members get a fixed timestamp, and the PDF keeps a fixed /ID, so rebuilding
without text changes yields byte-identical files (clean ``git status``).

Usage:
    python scripts/build_sample_kb.py            # writes into examples/kb
    python scripts/build_sample_kb.py --out DIR  # writes into DIR instead
"""

from __future__ import annotations

import argparse
import datetime as dt
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "examples" / "kb"

# Fixed timestamps so rebuilds are byte-identical.
FIXED_DATETIME = dt.datetime(2026, 1, 1, 9, 0, 0)
ZIP_DATE_TIME = (2026, 1, 1, 9, 0, 0)
PDF_DATE = "D:20260101090000+08'00'"
AUTHOR = "Nova Electronics Service Centre (fictional sample)"

# --------------------------------------------------------------------------------------
# Common metadata
# --------------------------------------------------------------------------------------


def meta(**fields: Any) -> dict[str, Any]:
    """Sidecar metadata with the defaults shared by every sample article."""
    base: dict[str, Any] = {
        "tenant": "nova",
        "status": "published",
        "channel": None,
        "effective_from": dt.date(2026, 1, 1),
        "review_by": dt.date(2027, 1, 1),
    }
    base.update(fields)
    order = [
        "id",
        "tenant",
        "type",
        "title",
        "language",
        "product",
        "channel",
        "tags",
        "owner",
        "status",
        "effective_from",
        "valid_until",
        "review_by",
    ]
    return {k: base[k] for k in order if k in base}


def write_sidecar(path: Path, fields: dict[str, Any]) -> None:
    """Write ``<path>.meta.yaml`` next to a generated file."""
    sidecar = path.with_name(path.name + ".meta.yaml")
    sidecar.write_text(
        yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, default_flow_style=None),
        encoding="utf-8",
    )


def normalize_zip(path: Path) -> None:
    """Rewrite an OOXML package with fixed member timestamps (python-docx & co. use now())."""
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)


# --------------------------------------------------------------------------------------
# DOCX: NovaBook 14 Pro laptop manual (en)
# --------------------------------------------------------------------------------------

# Each entry: ("h1" | "h2" | "p" | "steps" | "bullets" | "table", payload)
NOVABOOK_MANUAL: list[tuple[str, Any]] = [
    ("title", "NovaBook 14 Pro User Manual"),
    (
        "p",
        "Model NB14-P26. Thank you for choosing Nova Electronics. Read this manual before "
        "first use and keep it for future reference.",
    ),
    ("h1", "1. Safety information"),
    (
        "bullets",
        [
            "Use only the supplied 65 W USB-C power adapter or a Nova-certified replacement.",
            "Do not use the laptop on a bed, sofa or pillow: blocked vents cause overheating.",
            "Stop using the laptop and unplug it at once if the battery swells, the case bulges, "
            "or you notice smoke or a burning smell; contact Nova support (Product Safety responds "
            "within 15 minutes).",
            "Operating temperature 0-35 °C; storage temperature -20-45 °C.",
        ],
    ),
    ("h1", "2. Specifications"),
    (
        "table",
        [
            ["Item", "NovaBook 14 Pro"],
            ["Display", "14.2-inch 2.8K (2880 x 1800) IPS, 120 Hz, 500 nits"],
            ["Processor", "8-core mobile processor, up to 4.8 GHz"],
            ["Memory", "16 GB or 32 GB LPDDR5X (soldered, not upgradeable)"],
            ["Storage", "512 GB or 1 TB PCIe 4.0 NVMe SSD (M.2 2280)"],
            ["Battery", "70 Wh, up to 12 hours video playback"],
            ["Charging", "65 W USB-C, 0-50% in 30 minutes"],
            ["Ports", "2 x USB-C (USB4), 1 x USB-A 3.2, HDMI 2.1, 3.5 mm audio"],
            ["Wireless", "Wi-Fi 6E, Bluetooth 5.3"],
            ["Weight", "1.39 kg"],
            ["Warranty", "2 years device (keyboard and touchpad included), 1 year battery"],
        ],
    ),
    ("h1", "3. Getting started"),
    ("h2", "3.1 First start-up"),
    (
        "steps",
        [
            "Connect the 65 W adapter; the charging light turns amber.",
            "Open the lid; the laptop starts automatically.",
            "Choose your region and language, and connect to Wi-Fi.",
            "Sign in to or create a Nova ID to activate the warranty and cloud backup.",
            "Set up fingerprint login on the power button when prompted.",
            "Install the pending updates in Nova PC Manager before installing other software.",
        ],
    ),
    ("h2", "3.2 Keyboard shortcuts"),
    (
        "table",
        [
            ["Keys", "Function"],
            ["Fn + Esc", "Lock / unlock the Fn keys"],
            ["Fn + F5 / F6", "Keyboard backlight down / up"],
            ["Fn + P", "Switch performance mode (Quiet, Balanced, Performance)"],
            ["F9 at power-on", "Open Nova Recovery"],
        ],
    ),
    ("h1", "4. Battery and charging"),
    (
        "p",
        "The battery lasts longest when kept between 20% and 80%. Turn on Battery care in "
        "Nova PC Manager > Power to stop charging at 80% when the laptop is mostly plugged in.",
    ),
    (
        "steps",
        [
            "Open Nova PC Manager and select Power.",
            "Turn on Battery care.",
            "Check Battery health monthly; below 80% within the 1-year battery warranty, contact "
            "support for a free inspection.",
        ],
    ),
    ("h1", "5. Troubleshooting"),
    ("h2", "5.1 The laptop does not turn on (black screen)"),
    (
        "steps",
        [
            "Connect the original 65 W adapter and charge for at least 30 minutes.",
            "Hold the power button for 10 seconds to force a shutdown, then press it once.",
            "If the screen stays black, perform an EC reset: unplug the adapter and hold the power "
            "button for 30 seconds, then reconnect the adapter and press the power button.",
            "Connect an external monitor via HDMI to check whether only the built-in display fails.",
            "If the laptop still does not start after the EC reset, contact support; the case is "
            "escalated to senior technical support, who contact you within 4 hours.",
        ],
    ),
    ("h2", "5.2 Wi-Fi keeps disconnecting"),
    (
        "steps",
        [
            "Turn airplane mode on and off again.",
            "Update the wireless driver in Nova PC Manager > Drivers.",
            "In Device Manager, open the Wi-Fi adapter > Power Management and untick "
            '"Allow the computer to turn off this device to save power".',
            "Restart the router and forget and re-join the network.",
        ],
    ),
    ("h2", "5.3 The fan is loud or the laptop is hot"),
    (
        "steps",
        [
            "Press Fn + P to switch to Quiet mode.",
            "Place the laptop on a hard, flat surface with the vents clear.",
            "Close heavy background apps in Task Manager.",
            "If the bottom case is too hot to touch even when idle, or you smell burning, stop "
            "using it, unplug it and contact support immediately.",
        ],
    ),
    ("h2", "5.4 Restoring factory settings"),
    (
        "steps",
        [
            "Back up your personal files to an external drive or Nova Cloud.",
            "Connect the adapter.",
            "Press F9 repeatedly while the laptop starts to open Nova Recovery.",
            "Select Reset to factory settings and confirm; the reset takes 30-60 minutes.",
        ],
    ),
    ("h1", "6. Warranty and service"),
    (
        "p",
        "The NovaBook 14 Pro has a 2-year device warranty (keyboard and touchpad included) and a "
        "1-year battery warranty from the delivery date; your order number is proof of purchase. "
        "Accidental damage (drops, liquid), unauthorised repairs and opening the bottom case "
        "yourself are not covered. In-warranty repairs include free pickup and return and take "
        "3-5 business days plus shipping.",
    ),
    ("p", "Support: phone 400-800-1234 (24/7), live chat in the Nova app, email service@nova.example."),
]


def build_docx(out: Path) -> Path:
    """Write the NovaBook manual with Heading 1/2 styles, numbered steps and a specs table."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    cp = doc.core_properties
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.title = "NovaBook 14 Pro User Manual"
    cp.subject = "Sample knowledge base (fictional)"
    cp.language = "en-US"
    cp.created = FIXED_DATETIME
    cp.modified = FIXED_DATETIME
    cp.last_printed = FIXED_DATETIME
    cp.revision = 1

    for kind, payload in NOVABOOK_MANUAL:
        if kind == "title":
            doc.add_heading(payload, level=0)
        elif kind == "h1":
            doc.add_heading(payload, level=1)
        elif kind == "h2":
            doc.add_heading(payload, level=2)
        elif kind == "p":
            doc.add_paragraph(payload)
        elif kind == "steps":
            # "List Number" continues numbering across lists in Word; the parser sees
            # the style, which is what matters for step detection.
            for step in payload:
                doc.add_paragraph(step, style="List Number")
        elif kind == "bullets":
            for item in payload:
                doc.add_paragraph(item, style="List Bullet")
        elif kind == "table":
            rows: list[list[str]] = payload
            table = doc.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = value
                    if r == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
                            run.font.size = Pt(10)
        else:  # pragma: no cover - guards typos in the content table above
            raise ValueError(f"unknown block kind {kind!r}")

    path = out / "manuals" / "manual-novabook-en.docx"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    normalize_zip(path)
    write_sidecar(
        path,
        meta(
            id="manual-novabook-en",
            type="manual",
            title="NovaBook 14 Pro User Manual",
            language="en",
            product="laptop",
            tags=["manual", "laptop", "novabook", "troubleshooting", "specifications"],
            owner="After-sales Technical Support",
            review_by=dt.date(2027, 6, 30),
        ),
    )
    return path


# --------------------------------------------------------------------------------------
# PDF: NovaClean X7 robot vacuum manual (zh)
# --------------------------------------------------------------------------------------

NOVACLEAN_MANUAL: list[tuple[str, Any]] = [
    ("title", "NovaClean X7 扫地机器人 使用说明书"),
    ("p", "型号：NC-X7。感谢您选购新星电子产品，使用前请仔细阅读本说明书并妥善保管。"),
    ("h1", "1. 安全须知"),
    (
        "bullets",
        [
            "仅使用原装充电座和电源适配器（输入 100-240V，输出 20V 1.2A）。",
            "请勿在有水渍、燃气泄漏或明火的环境中使用本产品。",
            "使用前请收起地面上的电线、袜子、宠物粪便等物品，避免缠绕或污染。",
            "如电池鼓包、机身异常发烫、冒烟或有焦糊味，请立即关机、拔掉充电座电源，将机器移到远离易燃物的地方，并联系新星客服（产品安全组 15 分钟内响应）。",
        ],
    ),
    ("h1", "2. 产品参数"),
    (
        "table",
        [
            ["项目", "参数"],
            ["吸力", "6000Pa（四档可调）"],
            ["电池", "5200mAh 锂离子电池"],
            ["续航", "标准模式约 180 分钟"],
            ["充电时间", "约 4 小时"],
            ["尘盒容量", "400ml"],
            ["水箱容量", "250ml（电控水箱）"],
            ["越障高度", "2cm"],
            ["导航", "激光雷达 LDS + 3D 结构光避障"],
            ["保修", "整机 1 年，电池 1 年；滚刷、边刷、滤网、拖布为易耗品"],
        ],
    ),
    ("h1", "3. 首次使用"),
    (
        "steps",
        [
            "将充电座靠墙放置，两侧各留出 0.5 米、前方留出 1.5 米空间，接通电源，指示灯常亮。",
            '撕掉机器上的保护膜，安装边刷，听到"咔嗒"声即安装到位。',
            "长按电源键 3 秒开机，将机器放回充电座，首次使用请充满电（约 4 小时）。",
            "在手机上安装 Nova Home App，按提示添加设备并连接 2.4GHz Wi-Fi（不支持 5GHz）。",
            "首次清扫时机器会自动建图，请打开各房间的门，建图完成后可在 App 中划分房间和设置禁区。",
        ],
    ),
    ("h1", "4. 日常维护"),
    (
        "table",
        [
            ["部件", "清洁周期", "更换周期"],
            ["尘盒与滤网", "每次使用后倒尘，每周清洗滤网（晾干 24 小时）", "滤网 3-6 个月"],
            ["滚刷", "每周清理缠绕的头发", "6-12 个月"],
            ["边刷", "每月清理", "3-6 个月"],
            ["拖布", "每次拖地后清洗晾干", "3-6 个月"],
            ["传感器与充电触片", "每月用干布擦拭", "—"],
        ],
    ),
    ("h1", "5. 故障排除"),
    ("p", "机器报错时会语音播报并在 App 中显示错误代码。请按下表处理，处理后按电源键重启。"),
    (
        "table",
        [
            ["错误代码", "故障现象", "处理方法"],
            ["E1", "左轮或右轮悬空/卡住", "将机器放回平整地面，清理车轮上缠绕的头发和异物"],
            ["E2", "滚刷卡住", "取下滚刷，剪掉缠绕的头发，清理滚刷两端轴承"],
            ["E3", "激光雷达被遮挡", "检查机器顶部雷达是否被压住或卡住，清理灰尘"],
            ["E4", "悬崖传感器异常", "用干布擦拭机器底部的悬崖传感器"],
            ["E5", "尘盒未安装", "重新安装尘盒，确认滤网已装好"],
            ["E6", "电池温度异常", "停止使用并移出充电座，在室温下静置 1 小时；反复出现请联系客服"],
            ["E7", "无法回充", "检查充电座电源和周围空间，擦拭充电触片，在 App 中重新放置充电座"],
        ],
    ),
    ("h2", "5.1 机器无法开机"),
    (
        "steps",
        [
            "将机器放到充电座上充电至少 30 分钟。",
            "长按电源键 10 秒强制关机，再长按 3 秒开机。",
            "仍无法开机时，按住电源键和回充键 5 秒恢复出厂设置（地图会被清除）。",
            "恢复出厂设置后仍无法开机，请联系客服，将转高级技术支持在 4 小时内联系您。",
        ],
    ),
    ("h2", "5.2 无法连接 Wi-Fi"),
    (
        "steps",
        [
            "确认路由器为 2.4GHz 频段，Wi-Fi 名称和密码中不含特殊字符。",
            '同时按住电源键和回充键 3 秒，听到"开始配网"后在 App 中重新添加设备。',
            "手机与机器距离路由器 5 米以内进行配网。",
        ],
    ),
    ("h1", "6. 保修与服务"),
    (
        "p",
        "整机保修 1 年，电池保修 1 年，自签收之日起计算，凭订单号即可享受保修。滚刷、边刷、滤网、拖布属于易耗品，不在保修范围。人为损坏（进水、摔落、私自拆机）不在免费保修范围内，可付费维修。",
    ),
    (
        "p",
        "签收后 7 天内未使用且完好如新可无理由退货，15 天内出现质量问题可换货，退款审核通过后 3-7 个工作日原路退回。",
    ),
    ("p", "服务热线：400-800-1234（7×24 小时）；在线客服：Nova Home App「我的-客服」。"),
]

PAGE_W, PAGE_H = 595, 842  # A4 in points
MARGIN = 56
# PyMuPDF's built-in CJK font, embedded and subset. (The non-embedded "china-s" base font
# draws Latin letters full-width in most viewers, which makes mixed zh/en text hard to read.)
FONT = "cjk"
SIZES = {"title": 20.0, "h1": 15.0, "h2": 12.5, "p": 10.5}


def _wrap(font: Any, text: str, size: float, width: float) -> list[str]:
    """Greedy per-character wrapping (CJK has no spaces to break at)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if font.text_length(current + ch, fontsize=size) > width and current:
            lines.append(current)
            current = ch.lstrip() if ch == " " else ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


class _PdfWriter:
    """Tiny flowing-layout helper: keeps a cursor and starts new pages when needed."""

    def __init__(self, doc: Any) -> None:
        import pymupdf

        self.doc = doc
        self._pymupdf = pymupdf
        self.font = pymupdf.Font(FONT)
        self.page: Any = None
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.page = self.doc.new_page(width=PAGE_W, height=PAGE_H)
        self.y = MARGIN

    def ensure(self, height: float) -> None:
        if self.y + height > PAGE_H - MARGIN:
            self.new_page()

    def text(
        self,
        text: str,
        size: float,
        *,
        indent: float = 0.0,
        gap: float = 4.0,
        color: tuple[float, float, float] = (0, 0, 0),
        bold: bool = False,
    ) -> None:
        width = PAGE_W - 2 * MARGIN - indent
        leading = size * 1.5
        for line in _wrap(self.font, text, size, width):
            self.ensure(leading)
            # The CJK font has no bold face: bold headings are filled and stroked (mode 2).
            writer = self._pymupdf.TextWriter(self.page.rect, color=color)
            writer.append((MARGIN + indent, self.y + size), line, font=self.font, fontsize=size)
            writer.write_text(self.page, render_mode=2 if bold else 0)
            self.y += leading
        self.y += gap

    def table(self, rows: Sequence[Sequence[str]], size: float = 9.5) -> None:
        ncols = len(rows[0])
        total = PAGE_W - 2 * MARGIN
        # The first column holds short labels/codes; give the rest more room.
        first = total * (0.18 if ncols == 3 else 0.28)
        widths = [first] + [(total - first) / (ncols - 1)] * (ncols - 1)
        leading = size * 1.45
        pad = 4.0
        for r, row in enumerate(rows):
            wrapped = [_wrap(self.font, cell, size, w - 2 * pad) for cell, w in zip(row, widths, strict=True)]
            height = max(len(w) for w in wrapped) * leading + 2 * pad
            self.ensure(height)
            x = float(MARGIN)
            for lines, w in zip(wrapped, widths, strict=True):
                rect = (x, self.y, x + w, self.y + height)
                if r == 0:
                    self.page.draw_rect(rect, color=(0.3, 0.3, 0.3), fill=(0.9, 0.93, 0.97), width=0.6)
                else:
                    self.page.draw_rect(rect, color=(0.3, 0.3, 0.3), width=0.6)
                ty = self.y + pad
                writer = self._pymupdf.TextWriter(self.page.rect)
                for line in lines:
                    writer.append((x + pad, ty + size), line, font=self.font, fontsize=size)
                    ty += leading
                writer.write_text(self.page)
                x += w
            self.y += height
        self.y += 8


def build_pdf(out: Path) -> Path:
    """Write the NovaClean manual: larger bold headings, numbered steps, grid tables."""
    import pymupdf

    doc = pymupdf.open()
    w = _PdfWriter(doc)
    for kind, payload in NOVACLEAN_MANUAL:
        if kind == "title":
            w.text(payload, SIZES["title"], gap=10, color=(0.05, 0.2, 0.45), bold=True)
        elif kind == "h1":
            w.y += 6
            w.text(payload, SIZES["h1"], gap=6, color=(0.05, 0.2, 0.45), bold=True)
        elif kind == "h2":
            w.text(payload, SIZES["h2"], gap=4, bold=True)
        elif kind == "p":
            w.text(payload, SIZES["p"])
        elif kind == "steps":
            for i, step in enumerate(payload, start=1):
                w.text(f"{i}. {step}", SIZES["p"], indent=8, gap=2)
            w.y += 4
        elif kind == "bullets":
            for item in payload:
                w.text(f"• {item}", SIZES["p"], indent=8, gap=2)
            w.y += 4
        elif kind == "table":
            w.table(payload)
        else:  # pragma: no cover
            raise ValueError(f"unknown block kind {kind!r}")

    doc.subset_fonts()  # embed only the glyphs used: ~30 KB instead of several MB
    doc.set_metadata(
        {
            "title": "NovaClean X7 扫地机器人 使用说明书",
            "author": AUTHOR,
            "subject": "Sample knowledge base (fictional)",
            "keywords": "NovaClean, 扫地机器人, 故障排除",
            "creator": "scripts/build_sample_kb.py",
            "producer": "PyMuPDF",
            "creationDate": PDF_DATE,
            "modDate": PDF_DATE,
        }
    )
    path = out / "manuals" / "manual-novaclean-zh.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    # no_new_id keeps the trailer /ID stable, so the bytes do not change between builds.
    doc.save(str(path), garbage=4, deflate=True, no_new_id=True)
    doc.close()
    write_sidecar(
        path,
        meta(
            id="manual-novaclean-zh",
            type="manual",
            title="NovaClean X7 扫地机器人使用说明书",
            language="zh",
            product="vacuum",
            tags=["说明书", "扫地机器人", "故障排除", "错误代码", "vacuum"],
            owner="售后技术支持组",
            review_by=dt.date(2027, 6, 30),
        ),
    )
    return path


# --------------------------------------------------------------------------------------
# PPTX: VIP handling training slides (zh)
# --------------------------------------------------------------------------------------

VIP_SLIDES: list[tuple[str, list[str]]] = [
    ("VIP 客户服务规范培训（SOP-CS-007）", ["新星电子服务中心 · 新员工必修课", "时长 20 分钟"]),
    (
        "1. 谁是 VIP 客户",
        [
            "工单顶部显示 VIP 标识（customer.vip = true）",
            "新星金卡会员：近 12 个月消费满 20000 元",
            "新星企业客户账户",
            '不要询问客户"您是不是 VIP"，以系统标识为准',
        ],
    ),
    (
        "2. VIP 服务承诺",
        [
            "电话：VIP 专线 10 秒内接听（普通客户 20 秒）",
            "投诉或负面情绪：30 分钟内升级至 VIP专席（vip_desk）",
            "维修：双向免费取送，手机和笔记本电脑提供备用机",
            "回访：结案后 24 小时内由 VIP专席回访",
        ],
    ),
    (
        "3. VIP 投诉处理步骤",
        [
            '1. 致歉并确认问题："非常抱歉给您带来不便。"',
            "2. 升级至 vip_desk，紧急程度 high，30 分钟内，备注中引用客户原话",
            '3. 告知客户："我们的 VIP 专属顾问会在 30 分钟内与您联系。"',
            "4. 保持在线，直到 VIP专席确认接单",
            "5. 同时命中更高优先级规则（安全、监管/媒体、隐私）时，按更高规则升级并抄送 VIP专席",
        ],
    ),
    (
        "4. VIP专席的审批权限",
        [
            "200 元以内优惠券补偿，无需再审批",
            "由新星承担费用的加急补发",
            "2000 元以上退款：仍需值班主管审批后转财务退款组",
        ],
    ),
    (
        "5. 禁止事项",
        [
            "身份核验标准与普通客户一致：订单号 + 手机号后 4 位",
            "不得承诺 VIP专席未批准的补偿",
            "不得提及客户的消费金额或会员等级门槛",
            "禁用语同样适用：不知道、不归我管、这是规定、没办法……",
        ],
    ),
    (
        "6. 案例演练",
        [
            "场景：VIP 客户张先生的笔记本电脑第二次送修，仍然无法开机，语气不满",
            "命中规则：第 5 条（VIP + 负面情绪）优先于第 11 条（重复维修）",
            "正确做法：致歉 → 升级 vip_desk（30 分钟内）→ 同时备注需 tier2 技术支持 → 提供备用机",
        ],
    ),
]


def build_pptx(out: Path) -> Path:
    """Write the VIP handling training deck: title slide plus title-and-content slides."""
    from pptx import Presentation

    prs = Presentation()
    cp = prs.core_properties
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.title = "VIP 客户服务规范培训"
    cp.created = FIXED_DATETIME
    cp.modified = FIXED_DATETIME
    cp.last_printed = FIXED_DATETIME
    cp.revision = 1

    for index, (title, bullets) in enumerate(VIP_SLIDES):
        layout = prs.slide_layouts[0 if index == 0 else 1]
        slide = prs.slides.add_slide(layout)
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
        # Speaker notes exercise the notes path of the parser.
        slide.notes_slide.notes_text_frame.text = f"讲师提示：第 {index + 1} 页，结合 SOP-CS-007 讲解。"

    path = out / "sop" / "sop-vip-handling-zh.pptx"
    path.parent.mkdir(parents=True, exist_ok=True)
    prs.save(str(path))
    normalize_zip(path)
    write_sidecar(
        path,
        meta(
            id="sop-vip-handling-zh",
            type="sop",
            title="VIP 客户服务规范（培训课件）",
            language="zh",
            product=None,
            tags=["VIP", "VIP专席", "培训", "投诉", "升级"],
            owner="VIP专席",
        ),
    )
    return path


# --------------------------------------------------------------------------------------
# XLSX: NovaBuds earbuds FAQ (zh)
# --------------------------------------------------------------------------------------

FAQ_HEADER = ["question", "alternatives", "answer", "product", "category", "tags"]
EARBUDS_FAQ: list[list[str]] = [
    [
        "NovaBuds Pro 2 续航多久？",
        "耳机能用多久|充一次电用几个小时",
        "单次续航约 7 小时（关闭降噪），开启降噪约 5 小时；搭配充电盒总续航约 30 小时。充电 10 分钟可使用约 2 小时。",
        "earbuds",
        "product_usage",
        "耳机|续航",
    ],
    [
        "耳机充电盒怎么充电？",
        "充电盒充不进电|耳机盒怎么充",
        "使用 USB-C 线连接 5V/2A 以上的充电器，或放在 Qi 无线充电板上。充电盒指示灯绿色常亮表示已充满。",
        "earbuds",
        "product_usage",
        "耳机|充电盒|充电",
    ],
    [
        "耳机连接后声音断断续续怎么办？",
        "耳机断连|蓝牙卡顿",
        '请让手机与耳机保持 10 米以内且无遮挡，关闭手机的省电模式；在 Nova Link App 中把连接模式切换为"连接优先"。仍有问题请恢复出厂设置后重新配对。',
        "earbuds",
        "product_usage",
        "耳机|断连|蓝牙",
    ],
    [
        "耳机可以同时连接两台设备吗？",
        "双设备连接|手机和电脑同时连",
        '支持。在 Nova Link App 中开启"双设备连接"，耳机可同时连接手机和电脑，来电时自动切换到手机。',
        "earbuds",
        "product_usage",
        "耳机|多设备",
    ],
    [
        "耳机防水吗？能戴着跑步吗？",
        "耳机防汗吗|下雨能戴吗",
        "耳机支持 IP54 防尘防水，可在跑步、健身出汗时使用，但不能游泳或冲洗，充电盒不防水。",
        "earbuds",
        "product_usage",
        "耳机|防水|运动",
    ],
    [
        "耳机耳塞套拆封了还能七天无理由退货吗？",
        "用过的耳机能退吗|耳机退货",
        "入耳式耳机的耳塞套已拆封使用的，出于卫生原因不支持七天无理由退货；出现质量问题可在签收后 7 天内退货、15 天内换货，免费上门取件。",
        "earbuds",
        "refund_return",
        "耳机|退货|七天无理由",
    ],
    [
        "耳机保修多久？",
        "耳机质保|耳机坏了能修吗",
        "NovaBuds Pro 2 整机和电池保修 1 年，自签收之日起计算。单只耳机丢失不在保修范围，可付费补配。",
        "earbuds",
        "repair_warranty",
        "耳机|保修",
    ],
    [
        "耳机充电盒发烫、鼓起来了怎么办？",
        "充电盒鼓包|耳机盒很烫",
        "请立即停止充电和使用，把充电盒放在远离易燃物的地方，不要挤压或拆开。这属于安全问题，请马上联系客服，产品安全组会在 15 分钟内与您联系。",
        "earbuds",
        "repair_warranty",
        "耳机|电池鼓包|安全",
    ],
    [
        "耳机左耳声音比右耳小怎么办？",
        "两边音量不一样|一边声音小",
        '请用干燥的软毛刷清理出音孔的耳垢，检查手机"设置-辅助功能-音频平衡"是否居中。清理后仍不一致的，可申请免费检测（保修期 1 年内）。',
        "earbuds",
        "product_usage",
        "耳机|音量",
    ],
    [
        "买的耳机一直没发货怎么办？",
        "耳机什么时候发货|耳机还没发",
        "现货商品一般在付款后 24 小时内发货。超过承诺发货时间 48 小时仍未发货的，可申请取消订单全额退款，也可以联系客服催促仓库发货。",
        "earbuds",
        "logistics_delay",
        "耳机|发货",
    ],
    [
        "耳机配对时找不到设备怎么办？",
        "蓝牙搜不到耳机|耳机不显示",
        "请把耳机放入充电盒并打开盒盖，长按盒子背面按键 2 秒，指示灯白色闪烁即进入配对状态；若仍搜不到，长按 10 秒恢复出厂设置后再试。",
        "earbuds",
        "product_usage",
        "耳机|配对",
    ],
]


def build_xlsx(out: Path) -> Path:
    """Write the earbuds Q&A sheet with the same columns as the CSV FAQs."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "耳机FAQ"
    ws.append(FAQ_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in EARBUDS_FAQ:
        ws.append(row)
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 30
    ws.column_dimensions["C"].width = 80
    props = wb.properties
    props.creator = AUTHOR
    props.lastModifiedBy = AUTHOR
    props.title = "NovaBuds Pro 2 常见问题"
    props.created = FIXED_DATETIME
    props.modified = FIXED_DATETIME

    path = out / "faq" / "faq-earbuds-zh.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    # openpyxl stamps docProps/core.xml with now() on save; re-apply the fixed date.
    _fix_xlsx_modified(path)
    normalize_zip(path)
    write_sidecar(
        path,
        meta(
            id="faq-earbuds-zh",
            type="faq",
            title="NovaBuds Pro 2 耳机常见问题",
            language="zh",
            product="earbuds",
            tags=["常见问题", "耳机", "faq"],
            owner="知识库运营组",
        ),
    )
    return path


def _fix_xlsx_modified(path: Path) -> None:
    import re

    with zipfile.ZipFile(path) as src:
        members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    stamp = FIXED_DATETIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    fixed = []
    for name, data in members:
        if name == "docProps/core.xml":
            data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", data)
            data = re.sub(rb"(<dcterms:created[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", data)
        fixed.append((name, data))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in fixed:
            dst.writestr(name, data)


# --------------------------------------------------------------------------------------


def build_all(out: Path) -> list[Path]:
    """Build every binary sample file under ``out`` and return their paths."""
    return [build_docx(out), build_pdf(out), build_pptx(out), build_xlsx(out)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="sample KB root (default: examples/kb)")
    args = parser.parse_args(argv)
    for path in build_all(args.out):
        print(f"{path}  ({path.stat().st_size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
