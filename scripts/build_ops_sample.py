"""Build the sample conversation log of tenant nova (examples/ops/conversations.jsonl).

A month (November 2026, Asia/Shanghai) of finished customer-service conversations across
chat, phone transcripts, messaging and e-mail, written here from phrase banks (our own text),
deterministic (fixed seed). It contains, on purpose:

* a complaint spike on 17-19 November: the Nova Watch firmware 3.2 drains the battery;
  complaints and negative sentiment rise past the tenant's red line, then recover;
* agent A07 never greets in the first reply (the others almost always do);
* agent A04 sometimes reads the customer's phone number back in full (personal data);
* slow first responses now and then, escalations made, late, to the wrong desk or missed;
* questions the knowledge base could not answer (``kb_gap``), which feed the gap log;
* ratings on about 40% of the conversations, and repeat contacts of the same customers.

Usage:
    python scripts/build_ops_sample.py [--out examples/ops/conversations.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

TZ = timezone(timedelta(hours=8))
SEED = 20261101
MONTH_DAYS = 30
SPIKE = (17, 18, 19)

AGENTS = ["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A09", "A10"]
EN_AGENTS = {"A06", "A09"}
NO_GREETING = "A07"
READS_BACK_PHONE = "A04"
CHANNELS = [("chat", 0.5), ("messaging", 0.25), ("phone", 0.15), ("email", 0.10)]
# first-response draws per channel: (usual range s, slow range s, share slow)
FIRST_WAIT = {"chat": ((8, 50), (75, 400), 0.07), "messaging": ((40, 480), (700, 2400), 0.06),
              "phone": ((4, 16), (25, 90), 0.06), "email": ((1800, 10800), (15000, 30000), 0.05)}
LATER_WAIT = {"chat": ((15, 150), (200, 600), 0.04), "messaging": ((30, 400), (700, 1500), 0.04),
              "phone": ((3, 15), (25, 60), 0.03), "email": ((1800, 9000), (15000, 25000), 0.04)}

# topic -> queue, zh customer openings, en openings, zh answer, en answer
TOPICS = {
    "delivery": ("orders",
                 ["我的订单NV{order}三天了还没发货，什么时候能到？", "请问订单NV{order}的快递到哪里了？",
                  "买的耳机显示已签收但我没收到，订单NV{order}"],
                 ["Where is my order NV{order}? It has not shipped yet.", "My parcel NV{order} shows delivered but I never got it."],
                 "已为您查询，订单已从仓库发出，预计明天下午送达，快递单号已短信发送给您。",
                 "I checked: your order left the warehouse and should arrive tomorrow afternoon; the tracking number is in your SMS."),
    "refund": ("billing",
               ["耳机不想要了，怎么申请七天无理由退货？", "退货已经寄回一周了，退款什么时候到账？"],
               ["How do I return the earbuds within the 7-day window?", "I sent the return a week ago, when will I get my refund?"],
               "退款已审核通过，会在1到3个工作日内原路退回您的支付账户。",
               "Your refund is approved and will reach your original payment method within 1-3 business days."),
    "pairing": ("devices",
                ["新买的Nova耳机连不上手机蓝牙怎么办？", "耳机只有一边有声音，怎么重新配对？"],
                ["My new Nova earbuds will not pair with my phone.", "Only one earbud plays sound, how do I re-pair them?"],
                "请把耳机放回充电盒，长按盒子背面按键10秒直到指示灯白色闪烁，再在手机蓝牙里重新连接。",
                "Put both earbuds in the case, hold the button on the back for 10 seconds until the light flashes white, then pair again."),
    "invoice": ("billing",
                ["我需要开一张电子发票，公司抬头怎么填？", "上个月的订单能补开发票吗？"],
                ["I need a VAT invoice for my company, how do I request it?"],
                "可以的，在订单详情页点击申请发票，填写公司抬头和税号，电子发票会在24小时内发到您的邮箱。",
                "Yes: open the order, choose Request invoice, enter the company name and tax id; it arrives by e-mail within 24 hours."),
    "repair": ("repairs",
               ["手表屏幕裂了，在保修期内能免费修吗？", "送修的手表已经十天了，维修进度怎么查？"],
               ["My watch screen cracked, is it covered by warranty?", "My watch has been at the repair centre for ten days, any update?"],
               "屏幕意外损坏不在免费保修范围，但可以享受官方维修优惠价；维修进度可以在App的服务记录里查看。",
               "Accidental screen damage is not covered, but you get the official repair price; you can follow the repair in the app."),
    "account": ("devices",
                ["App登录一直提示验证码错误怎么办？", "换了手机号，账号怎么改绑？"],
                ["I can't log in to the Nova app, the code is always wrong.", "I changed my phone number, how do I update my account?"],
                "请在登录页选择其他验证方式，用邮箱验证后在账号安全里更换绑定手机号即可。",
                "Choose another verification method on the login page, verify by e-mail, then change the phone number under Account security."),
    "battery": ("devices",
                ["手表升级3.2固件以后一天要充两次电，怎么回事？", "Nova Watch更新后掉电特别快，正常吗？"],
                ["Since the 3.2 update my Nova Watch battery lasts half a day.", "Battery drains very fast after the watch update."],
                "我们已确认3.2固件存在耗电异常，修复版本3.2.1将在本周推送，您可以先关闭全天心率监测缓解。",
                "We have confirmed a battery issue in firmware 3.2; the fix 3.2.1 ships this week. Turning off all-day heart rate helps meanwhile."),
}
GAP_QUESTIONS = [
    ("Nova Watch 支持NFC刷公交卡吗？", "zh"), ("耳机可以同时连接两台设备吗？", "zh"),
    ("手表能导出数据到第三方健康App吗？", "zh"), ("Does the watch support Apple Health sync?", "en"),
]
ANGRY_ZH = ["你们这是什么质量，太差劲了，我要投诉！", "已经第三次联系了还没解决，我要投诉你们！",
            "太失望了，再不解决我就打12315！", "手表充电时电池鼓包了，这太危险了！"]
ANGRY_EN = ["This is terrible, I want to file a complaint!", "Third time contacting you and still broken, I am furious.",
            "Awful service, I will complain to the consumer protection regulator."]


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    x = rng.random()
    for name, w in weighted:
        x -= w
        if x <= 0:
            return name
    return weighted[-1][0]


def _wait(rng: random.Random, table: dict, channel: str, slow_boost: float = 0.0) -> int:
    usual, slow, share = table[channel]
    lo, hi = slow if rng.random() < share + slow_boost else usual
    return rng.randint(lo, hi)


def _conversation(rng: random.Random, n: int, day: int) -> dict:
    spike = day in SPIKE
    channel = _pick(rng, CHANNELS)
    agent = rng.choice(AGENTS)
    en = agent in EN_AGENTS
    topic_w = [("delivery", .22), ("refund", .14), ("pairing", .16), ("invoice", .1), ("repair", .14),
               ("account", .12), ("battery", .12)]
    if spike:
        topic_w = [("battery", .55), ("delivery", .12), ("refund", .08), ("pairing", .08), ("invoice", .05),
                   ("repair", .07), ("account", .05)]
    topic = _pick(rng, topic_w)
    queue, zh_open, en_open, zh_ans, en_ans = TOPICS[topic]
    gap = None if spike else (rng.choice(GAP_QUESTIONS) if rng.random() < 0.04 else None)
    if gap:
        en = gap[1] == "en"
    start = datetime(2026, 11, day, rng.randint(8, 21), rng.randint(0, 59), rng.randint(0, 59), tzinfo=TZ)
    p_angry = 0.45 if (spike and topic == "battery") else 0.06
    angry = rng.random() < p_angry
    phone = rng.random() < 0.12
    order = f"{rng.randint(2026110000, 2026119999):010d}"
    opener = gap[0] if gap else rng.choice(en_open if en else zh_open).format(order=order)
    if phone:
        number = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
        opener += (f" My number is {number}." if en else f" 我的手机号{number}。")
    turns: list[tuple[str, str, int]] = [("customer", opener, 0)]
    t = _wait(rng, FIRST_WAIT, channel, 0.2 if spike else 0.0)
    greet = "" if agent == NO_GREETING else (
        "Hello, thank you for contacting Nova Electronics. " if en else "您好，很高兴为您服务。")
    if gap:
        first = greet + ("Let me check that with our product team and get back to you."
                         if en else "这个问题我需要向产品团队确认后再回复您。")
    else:
        first = greet + (en_ans if en else zh_ans)
    if phone and agent == READS_BACK_PHONE and rng.random() < 0.5:
        first += (f" I have noted your number {number}." if en else f" 已记录您的手机号{number}。")
    turns.append(("agent", first, t))
    resolved = True
    outcome = "resolved"
    escalated_to = escalated_at = None
    if angry:
        t += rng.randint(20, 90)
        angry_text = rng.choice(ANGRY_EN if en else ANGRY_ZH)
        turns.append(("customer", angry_text, t))
        t += _wait(rng, LATER_WAIT, channel, 0.1 if spike else 0.0)
        sorry = rng.random() < 0.75
        reply = (("I'm very sorry for the inconvenience. " if sorry else "")
                 + "I have passed this to our senior team, who will contact you today.") if en else (
                 ("非常抱歉给您带来不便。" if sorry else "") + "我已将您的问题升级给专员处理，今天内会有专人联系您。")
        turns.append(("agent", reply, t))
        target = "supervisor"
        if "鼓包" in angry_text:
            target = "product_safety"
        elif "12315" in angry_text or "regulator" in angry_text:
            target = "complaints_pr"
        r = rng.random()
        if r < 0.7:
            escalated_to, esc_delay = target, rng.randint(2, 12) * 60
        elif r < 0.8:
            escalated_to, esc_delay = target, rng.randint(3, 6) * 3600
        elif r < 0.88:
            escalated_to, esc_delay = "tier2", rng.randint(2, 12) * 60
        else:
            esc_delay = 0
        if escalated_to:
            escalated_at = start + timedelta(seconds=t + esc_delay)
        resolved = rng.random() < 0.35
        outcome = "complaint" if rng.random() < 0.7 else ("resolved" if resolved else "unresolved")
        t += rng.randint(30, 120)
        turns.append(("customer", "Fine, I'll wait for the call." if en else "好吧，我等你们电话。", t))
        t += rng.randint(10, 40)
        turns.append(("agent", "Thank you for your patience, have a good day." if en else "感谢您的耐心，祝您生活愉快！", t))
    else:
        t += rng.randint(30, 180)
        if gap:
            resolved, outcome = False, "unresolved"
            turns.append(("customer", "OK, please let me know." if en else "好的，那你们确认了告诉我吧。", t))
            t += _wait(rng, LATER_WAIT, channel)
            turns.append(("agent", "Sure, we will e-mail you within two days." if en else "好的，我们会在两天内邮件回复您。", t))
        else:
            if rng.random() < 0.08:
                resolved, outcome = False, "unresolved"
            turns.append(("customer", "Thanks, that's all." if en else "好的，谢谢，没有其他问题了。", t))
            t += rng.randint(8, 40)
            closing = ("Thank you for contacting us, have a great day!" if en
                       else "感谢您的咨询，祝您生活愉快！如有其他问题随时联系我们。")
            if rng.random() < 0.06:
                closing = "OK." if en else "好的。"
            turns.append(("agent", closing, t))
    sat = None
    if rng.random() < 0.4:
        base = 4.6 if resolved and not angry else 2.2 if angry else 3.2
        base -= 0.6 if turns[1][2] > FIRST_WAIT[channel][0][1] else 0.0
        sat = int(min(5, max(1, round(base + rng.uniform(-0.9, 0.9)))))
    return {
        "id": f"NV-2611-{n:05d}",
        "channel": channel, "queue": queue, "agent": agent,
        "customer": f"C{rng.randint(1, 6000):05d}",
        "language": "en" if en else "zh",
        "turns": [{"role": r, "text": txt, "ts": (start + timedelta(seconds=s)).isoformat()} for r, txt, s in turns],
        "outcome": outcome, "resolved": resolved, "reopened": (not resolved) and rng.random() < 0.3,
        "satisfaction": sat,
        "escalated_to": escalated_to, "escalated_at": escalated_at.isoformat() if escalated_at else None,
        "kb_gap": bool(gap),
        "meta": {"topic_hint": topic if not gap else "gap"},
    }


def build(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    n = 0
    for day in range(1, MONTH_DAYS + 1):
        weekend = datetime(2026, 11, day).weekday() >= 5
        volume = rng.randint(38, 52) - (8 if weekend else 0) + (15 if day in SPIKE else 0)
        for _ in range(volume):
            n += 1
            out.append(_conversation(rng, n, day))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("examples/ops/conversations.jsonl"))
    args = ap.parse_args()
    rows = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for r in rows:
            r = {k: v for k, v in r.items() if v is not None}
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(rows)} conversations, {sum(len(r['turns']) for r in rows)} messages")


if __name__ == "__main__":
    main()
