"""Synthetic but realistic benchmark data: petitions from every channel in Chinese, and a
real multi-page PDF letter scan of a chosen size.

Everything is generated from a seeded ``random.Random``, so a run is repeatable.
"""
import datetime
import io
import random

from casefiles.idnumber import make_id_number

# Xinyang's districts and counties with their region codes (the first six digits of an ID number)
DISTRICT_CODES = {
    "浉河区": 411502, "平桥区": 411503, "罗山县": 411521, "光山县": 411522, "新县": 411523,
    "商城县": 411524, "固始县": 411525, "潢川县": 411526, "淮滨县": 411527, "息县": 411528,
}
DISTRICTS = tuple(DISTRICT_CODES)
OTHER_REGIONS = (410102, 410305, 411302, 411402, 420106, 340104)   # petitioners born elsewhere

STREETS = {
    "浉河区": ("老城街道", "民权街道", "车站街道", "湖东街道", "金牛山街道", "五星街道", "南湾街道", "双井街道"),
    "平桥区": ("平中街道", "平西街道", "平东街道", "羊山街道", "前进街道", "明港镇", "五里店街道", "甘岸街道"),
    "罗山县": ("龙山街道", "丽水街道", "宝城街道", "周党镇", "竹竿镇", "灵山镇"),
    "光山县": ("弦山街道", "紫水街道", "十里镇", "寨河镇", "孙铁铺镇", "泼陂河镇"),
    "新县": ("新集镇", "沙窝镇", "吴陈河镇", "苏河镇", "八里畈镇", "周河乡"),
    "商城县": ("赤城街道", "鄢岗镇", "双椿铺镇", "汪桥镇", "上石桥镇", "达权店镇"),
    "固始县": ("番城街道", "秀水街道", "蓼城街道", "陈淋子镇", "黎集镇", "三河尖镇", "段集镇"),
    "潢川县": ("春申街道", "弋阳街道", "老城街道", "北城街道", "双柳树镇", "伞陂镇"),
    "淮滨县": ("顺河街道", "栏杆街道", "桂花街道", "马集镇", "期思镇", "赵集镇"),
    "息县": ("谯楼街道", "龙湖街道", "淮河街道", "包信镇", "夏庄镇", "东岳镇", "项店镇"),
}

SURNAMES = ("王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林郑梁谢唐许冯宋韩邓彭曹曾田萧潘袁蔡蒋余于杜叶程魏苏吕丁任卢"
            "姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤")
GIVEN = ("建国 建华 国强 志强 秀英 桂兰 玉兰 秀兰 海燕 丽娟 文华 明 伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 超 "
         "明辉 红梅 春华 淑珍 德胜 永刚 学文 金凤 长青 新民 玉梅 家豪 子涵 浩然 雨涵 思远 卫东 红军 保国 翠花 "
         "立新 晓燕 美玲 振华 宏伟 佳怡 一鸣 建军 秀珍 凤英 德华 兰英 玉珍 继红 爱华").split()

PLACES = ("阳光花园", "锦绣华庭", "滨湖新城", "金色港湾", "南湖名苑", "茶韵小区", "申城御府", "百花园", "建业壹号城邦",
          "羊山新区安置区", "老火车站家属院", "纺织厂宿舍", "电厂生活区", "幸福里", "书香门第", "东方今典", "碧桂园")
VILLAGES = ("杨店村", "五里村", "新塘村", "郝堂村", "白马村", "高湾村", "徐湾村", "胡店村", "黄营村", "三里店村",
            "何家冲村", "田铺村", "柳林村", "董家河村", "谭家河村")
COMPANIES = ("信阳某建筑劳务公司", "某房地产开发有限公司", "某物业服务有限公司", "某茶业有限公司", "某纺织有限公司",
             "某汽车销售服务公司", "某教育培训学校", "某商贸有限公司", "某餐饮管理公司", "某电子科技公司")
ROADS = ("新七大道", "羊山大道", "工区路", "申城大道", "东方红大道", "中山路", "浉河北路", "新华东路", "民权路",
         "平桥大道", "航空路", "107国道", "312国道", "宁西铁路桥下道")

# category -> (subject templates, detail templates)
TOPICS = {
    "城乡建设": (
        ("{place}小区拆迁补偿款未足额发放", "{place}安置房逾期{n}年未交付", "{place}小区物业乱收费", "{place}房产证迟迟办不下来",
         "{village}危房改造资金被截留", "{road}沿线违章建筑长期未拆除", "{place}小区电梯长期停运无人维修"),
        ("{place}项目开发商承诺于{year}年交房，至今仍未交付，业主多次上门协商无果。",
         "房屋征收时签订的补偿协议约定补偿款{money}元，实际只发放了一部分，剩余部分一直拖欠。",
         "小区物业在未召开业主大会的情况下擅自上调物业费，并以停水停电相威胁。",
         "购房款已全部付清多年，开发商以各种理由拒不配合办理不动产权证书。"),
    ),
    "劳动和社会保障": (
        ("{company}拖欠农民工工资{money}元", "{company}未依法缴纳社会保险", "工伤认定后待遇迟迟不落实",
         "退休人员养老金核算有误", "{company}违法解除劳动合同", "失业保险金申领受阻"),
        ("本人与工友共{n}人在{company}承建的项目务工，工程完工后公司以未结算为由拖欠工资共计{money}元。",
         "在职期间单位从未为本人缴纳养老保险和医疗保险，现已到退休年龄无法办理退休手续。",
         "本人于{year}年在工作中受伤，已被认定为工伤，但单位至今未支付一次性伤残补助金。",
         "单位未提前通知也未支付经济补偿，以口头方式将本人辞退。"),
    ),
    "教育文体": (
        ("{village}小学撤并后学生上学路远", "{company}预收培训费后停业跑路", "子女入学划片不合理",
         "学校违规收取补课费", "民办教师待遇问题", "{place}小区配套幼儿园未按规划建设"),
        ("学校撤并后孩子每天要步行{n}公里上学，路上经过{road}，存在很大安全隐患。",
         "{company}一次性收取一年学费{money}元，开课不到三个月即关门，负责人联系不上。",
         "按照户籍和房产证应划入就近学校，但教育部门将我们小区划到{n}公里以外的学校。"),
    ),
    "卫生计生": (
        ("{district}某医院过度医疗乱收费", "新农合报销比例不符合政策", "村卫生室医生资格问题",
         "{place}小区附近诊所非法行医", "医疗事故处理不公"),
        ("家属住院{n}天，医院收取费用{money}元，其中多项检查与病情无关。",
         "按照政策住院费用应报销百分之七十，实际只报销了不到一半，多次询问没有答复。",
         "手术后出现严重并发症，医院拒绝提供完整病历，鉴定程序迟迟不启动。"),
    ),
    "环境保护": (
        ("{company}夜间排放刺鼻废气", "{village}附近砂石厂粉尘噪音扰民", "{road}沿线餐饮油烟扰民",
         "{village}河道被倾倒建筑垃圾", "养殖场污水直排{village}水塘"),
        ("该厂每天晚上十点以后开始生产，刺鼻气味弥漫整个村庄，老人孩子经常咳嗽。",
         "砂石厂距离居民区不足{n}百米，昼夜作业，粉尘和噪音严重影响群众生活。",
         "多次拨打12345热线反映，相关部门来看过之后没有任何处理结果。"),
    ),
    "交通运输": (
        ("{road}路段坑洼长期未修复", "{village}通村公路修建质量差", "出租车拒载议价问题",
         "{road}与{road2}交叉口缺少红绿灯", "公交线路调整后群众出行不便"),
        ("该路段自{year}年起就坑洼不平，雨天积水严重，已发生多起交通事故。",
         "村里修建的水泥路不到一年就开裂破损，厚度明显不够，怀疑偷工减料。",
         "原来的公交线路取消后，附近{n}个村的群众只能步行{n2}公里到镇上坐车。"),
    ),
    "农村农业": (
        ("{village}土地流转租金未兑付", "{village}耕地被违法占用", "农业补贴被村干部截留",
         "{village}集体收益分配不公开", "承包地确权面积与实际不符"),
        ("村里将我们{n}户的承包地流转给{company}，约定每年每亩租金{money}元，已经两年没有兑付。",
         "村干部在未经村民代表大会讨论的情况下，将集体土地出租给外地老板建厂。",
         "耕地地力保护补贴名单中有已去世人员和非本村人员，真正种地的农户却没有领到。"),
    ),
    "政法": (
        ("{district}某派出所对报案不立案", "法院判决后长期执行不到位", "邻里纠纷处理不公",
         "{company}非法集资案件进展缓慢", "民间借贷纠纷请求协调"),
        ("本人于{year}年向派出所报案被骗{money}元，至今没有立案，也没有任何书面答复。",
         "法院判决对方支付欠款{money}元，判决生效已{n}年，执行局一直说对方无财产可供执行。",
         "集资案件涉及群众{n}百人，公安机关立案后一直没有进展，群众损失无法挽回。"),
    ),
    "民政": (
        ("低保评定不公开不公平", "{village}五保户供养待遇未落实", "残疾人补贴未按时发放",
         "{place}养老院服务质量差", "困难群众临时救助申请无人受理"),
        ("本人家庭人均收入远低于当地低保标准，多次申请都未通过，而有车有房的人却在吃低保。",
         "本人是一级肢体残疾，{year}年以来的重度残疾人护理补贴一直没有发放。",
         "老人在养老院住了{n}个月，多次出现摔伤，院方推卸责任。"),
    ),
    "纪检监察": (
        ("反映{village}村干部优亲厚友", "举报{district}某干部违规经商", "{village}扶贫资金使用不透明",
         "举报某单位公车私用"),
        ("村支书在危房改造、低保评定中优亲厚友，将名额给了自己的亲属。",
         "该干部在任职期间以其亲属名义在辖区内承揽工程，涉及金额{money}元。",
         "村里的扶贫项目资金{money}元，账目从未公开，群众质疑被挪用。"),
    ),
}
CATEGORIES = tuple(TOPICS)
CATEGORY_WEIGHTS = (24, 20, 8, 7, 9, 7, 10, 7, 5, 3)

DEPARTMENTS = {
    "城乡建设": "ZJJ", "劳动和社会保障": "RSJ", "教育文体": "JYJ", "卫生计生": "WJW", "环境保护": "SHJJ",
    "交通运输": "JTJ", "农村农业": "NYNCJ", "政法": "GAJ", "民政": "MZJ", "纪检监察": None,
}

OPENINGS = ("本人{name}，家住{district}{street}。", "我是{district}{street}{village}村民{name}。",
            "尊敬的领导：我叫{name}，是{district}{street}居民。", "反映人{name}，{district}{street}人。",
            "我们是{place}小区的业主。", "")
SINCE = ("自{year}年{month}月以来，", "{year}年{month}月，", "早在{year}年，", "近{n}年来，", "")
TRIED = ("此前已多次向{where}反映，但至今没有得到解决。", "曾拨打12345热线{n}次，均答复正在处理。",
         "去年已到{where}上访一次，答复说会协调，此后再无消息。", "", "")
WHERE = ("乡镇政府", "街道办事处", "区信访局", "县信访局", "住建部门", "人社部门", "村委会", "社区居委会")
ASKS = ("恳请领导高度重视，责成有关部门依法处理。", "请求上级部门督促落实，维护我们的合法权益。",
        "希望政府尽快给我们一个明确的答复。", "请求依法查处，还群众一个公道。", "望早日解决为盼。")

CHANNEL_WEIGHTS = (("letter", 30), ("visit", 15), ("online", 35), ("phone", 10), ("video", 3), ("transfer", 7))
ONLINE_SOURCES = ("website", "wechat", "app", "hotline", "website", "wechat")
TRANSFER_MODES = ("forward", "assign", "supervise", "copy")


def _fill(rng, template, ctx):
    return template.format(**ctx)


def _context(rng, district):
    roads = rng.sample(ROADS, 2)
    return {
        "district": district,
        "street": rng.choice(STREETS[district]),
        "place": rng.choice(PLACES),
        "village": rng.choice(VILLAGES).removesuffix("村"),
        "company": rng.choice(COMPANIES),
        "road": roads[0], "road2": roads[1],
        "year": rng.randint(2015, 2024),
        "month": rng.randint(1, 12),
        "n": rng.randint(2, 9),
        "n2": rng.randint(3, 15),
        "money": f"{rng.randint(3, 900) * 1000:,}".replace(",", ""),
        "where": rng.choice(WHERE),
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
    }


def person(rng, district, anonymous_ok=False):
    region = DISTRICT_CODES[district] if rng.random() < 0.9 else rng.choice(OTHER_REGIONS)
    born = datetime.date(rng.randint(1940, 2003), rng.randint(1, 12), rng.randint(1, 28))
    street = rng.choice(STREETS[district])
    return {
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "id_number": make_id_number(region, born, rng.randint(0, 999)),
        "phone": f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}",
        "address": f"信阳市{district}{street}{rng.randint(1, 300)}号",
    }


def petition(rng, received_at, channel=None, district=None, pool=None):
    """A valid registration body for channel (random by weight when None), received at ``received_at``.

    With a ``pool`` list, about one petition in ten comes from a person seen before (重复信访).
    """
    if channel is None:
        channel = rng.choices([c for c, _w in CHANNEL_WEIGHTS], [w for _c, w in CHANNEL_WEIGHTS])[0]
    district = district or (rng.choice(DISTRICTS) if rng.random() < 0.93 else "市直")
    home = district if district in DISTRICT_CODES else rng.choice(DISTRICTS)
    category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
    subjects, details = TOPICS[category]
    if pool and rng.random() < 0.1:
        people = [dict(rng.choice(pool))]
    else:
        people = [person(rng, home)]
        if pool is not None:
            pool.append(dict(people[0]))
            if len(pool) > 5000:
                del pool[:1000]
    if channel in ("visit", "video") and rng.random() < 0.25:
        people += [person(rng, home) for _ in range(rng.randint(1, 4))]
    elif rng.random() < 0.05:
        people.append(person(rng, home))
    if channel in ("online", "phone"):
        for p in people:
            if rng.random() < 0.4:
                p["id_number"] = ""
        if rng.random() < 0.05:
            people = [{"anonymous": True}]
    people[0]["primary"] = True
    ctx = _context(rng, home)
    ctx["name"] = people[0].get("name") or ctx["name"]
    subject = _fill(rng, rng.choice(subjects), ctx)[:200]
    parts = [_fill(rng, rng.choice(OPENINGS), ctx), _fill(rng, rng.choice(SINCE), ctx)]
    parts += [_fill(rng, d, ctx) for d in rng.sample(details, rng.randint(1, min(3, len(details))))]
    parts += [_fill(rng, rng.choice(TRIED), ctx), rng.choice(ASKS)]
    content = "".join(parts)
    ptype = "accusation" if category == "纪检监察" else rng.choices(
        ("complaint", "suggestion", "accusation"), (85, 10, 5))[0]
    body = {
        "channel": channel,
        "received_at": received_at.isoformat(timespec="seconds"),
        "subject": subject,
        "content": content,
        "petitioners": people,
        "district": district,
        "category": category,
        "petition_type": ptype,
    }
    if ptype == "accusation":
        body["accused"] = {"person": rng.choice(SURNAMES) + "某某", "unit": rng.choice((None, "GAJ", "ZRZYJ"))}
    if channel in ("visit", "video"):
        body["group_size"] = len(people) + (rng.randint(0, 30) if len(people) > 1 else 0)
        body["visit_place"] = "市信访局接待大厅" if channel == "visit" else "视频接访室"
        if rng.random() < 0.1:
            body["leader"] = rng.choice(("王副市长", "李局长", "张副局长"))
    if channel == "online":
        body["online_source"] = rng.choice(ONLINE_SOURCES)
        body["external_ref"] = f"WS{received_at:%Y%m%d}{rng.randint(0, 999999):06d}"
    if channel == "transfer":
        body["source"] = {"level": rng.choice(("national", "provincial", "provincial")),
                          "mode": rng.choice(TRANSFER_MODES),
                          "ref": f"豫信转〔{received_at.year}〕{rng.randint(1, 9999)}号",
                          "due": (received_at + datetime.timedelta(days=rng.choice((15, 30, 60)))).date().isoformat()}
    if rng.random() < 0.01:
        body["confidential"] = True
    return body


# --- a real PDF letter scan --------------------------------------------------------------

MARKER = b"BENCH-00000000"

LETTER = ("尊敬的信阳市信访局领导：我是平桥区平西街道居民，现将有关情况反映如下。本人房屋于二〇二四年被列入征收范围，"
          "当时签订的补偿协议约定补偿款及过渡费按期足额发放，但截至目前仅发放了部分款项，剩余款项一直拖欠。"
          "本人多次到街道办事处和征收办询问，均答复资金尚未到位，请耐心等待。家中老人常年患病，全家租房居住，"
          "生活十分困难。恳请领导高度重视，责成有关部门尽快落实补偿款，维护群众的合法权益。此致 敬礼！")


def make_pdf(size_kb=200, pages=4, seed=1):
    """A real PDF (A4, Chinese text on every page, a scanned-photo-like image) of about ``size_kb`` KB.

    Its document subject holds ``MARKER`` so that ``vary_pdf`` can make each copy differ.
    """
    target = size_kb * 1024
    base = _pdf(pages, 0, seed)
    if target <= len(base):
        return base
    side = int(((target - len(base)) / 1.25) ** 0.5)
    for _ in range(4):
        data = _pdf(pages, side, seed)
        error = target - len(data)
        if abs(error) < target * 0.01:
            break
        side = max(8, int(((side * side * 1.25 + error) / 1.25) ** 0.5))
    return data


def _pdf(pages, image_side, seed):
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    rng = random.Random(seed)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle("来信扫描件")
    c.setSubject(MARKER.decode())
    width, height = A4
    per_line = 34
    for page in range(pages):
        c.setFont("STSong-Light", 13)
        y = height - 72
        text = LETTER * 2
        for i in range(0, len(text), per_line):
            c.drawString(60, y, text[i:i + per_line])
            y -= 20
            if y < 320:
                break
        c.drawString(60, 80, f"第 {page + 1} 页 共 {pages} 页")
        if page == 0 and image_side:
            from PIL import Image
            # noise does not compress: it stands for a photo of the petitioner's evidence
            im = Image.frombytes("L", (image_side, image_side), rng.randbytes(image_side * image_side))
            c.drawImage(ImageReader(im), 60, 110, 200, 200)
        c.showPage()
    c.save()
    return buf.getvalue()


def vary_pdf(pdf, n):
    """The same PDF with ``n`` written into its subject: a few bytes differ, the layout stays valid."""
    return pdf.replace(MARKER, f"BENCH-{n % 10 ** 8:08d}".encode(), 1)
