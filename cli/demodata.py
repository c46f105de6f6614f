"""The demo data generator: made-up but realistic petition matters of Xinyang City.

Everything comes from the templates below and a seeded ``random.Random``: the same seed and
the same day give the same people, subjects, dates and numbers. Nothing is copied from any
real data set. ``Generator(seed, now).plan(n)`` returns the planned cases in the order they
are to be registered (by date received, spread over the last ``SPAN_DAYS`` days with more of
them recent, so case numbers follow the calendar); ``casefiles-demo`` registers them through
``casefiles.intake.register``.

Each planned case also carries its ``steps``: the workflow actions (``casefiles.workflow``)
the bureau, the responsible unit and the petitioner's requests led to, each on a date after
the one before and within the statutory clock it answers (a small share deliberately late),
cut off at ``now``. So an old case is mostly closed (some after a review, a re-review and a
hearing; a few archived), a recent one is accepted, assigned or still waiting for triage,
and a case reaches a responsible unit only through an assign or forward step.

Letters and transfer sheets come with small real PDFs made with ReportLab (the WenQuanYi
font embedded when it is installed, else the STSong-Light CID font).
"""
import dataclasses
import datetime
import io
import math
import os
import random

from casefiles import localtime
from casefiles.idnumber import make_id_number
from casefiles.units import DISTRICTS

# --------------------------------------------------------------------------------------
# Places, people and organisations

REGION = {
    "浉河区": 411502, "平桥区": 411503, "罗山县": 411521, "光山县": 411522, "新县": 411523,
    "商城县": 411524, "固始县": 411525, "潢川县": 411526, "淮滨县": 411527, "息县": 411528,
}
DISTRICT_WEIGHTS = (16, 14, 9, 9, 5, 8, 14, 9, 7, 9)

TOWNS = {
    "浉河区": ["湖东街道", "车站街道", "五星街道", "民权街道", "金牛山街道", "老城街道", "董家河镇", "吴家店镇",
            "浉河港镇", "谭家河乡", "十三里桥乡"],
    "平桥区": ["平桥街道", "羊山街道", "前进街道", "五里店街道", "甘岸街道", "明港镇", "邢集镇", "查山乡",
            "长台关乡", "洋山新区"],
    "罗山县": ["龙山街道", "丽水街道", "宝城街道", "周党镇", "竹竿镇", "楠杆镇", "彭新镇", "灵山镇"],
    "光山县": ["弦山街道", "紫水街道", "孙铁铺镇", "十里镇", "泼陂河镇", "寨河镇", "槐店乡"],
    "新县": ["新集镇", "沙窝镇", "吴陈河镇", "八里畈镇", "周河乡", "千斤乡"],
    "商城县": ["赤城街道", "鲇鱼山街道", "上石桥镇", "鄢岗镇", "双椿铺镇", "汪桥镇", "余集镇"],
    "固始县": ["番城街道", "秀水街道", "蓼城街道", "三河尖镇", "陈淋子镇", "段集镇", "郭陆滩镇", "胡族铺镇"],
    "潢川县": ["春申街道", "弋阳街道", "老城街道", "双柳树镇", "仁和镇", "付店镇", "黄寺岗镇"],
    "淮滨县": ["顺河街道", "栏杆街道", "滨湖街道", "期思镇", "马集镇", "防胡镇", "谷堆乡"],
    "息县": ["谯楼街道", "龙湖街道", "淮河街道", "包信镇", "夏庄镇", "东岳镇", "项店镇", "孙庙乡"],
}
VILLAGE_PARTS = ["王", "李", "张", "刘", "陈", "黄", "周", "徐", "胡", "高", "何", "罗", "朱", "孙", "马"]
VILLAGE_SUFFIX = ["庄村", "湾村", "店村", "岗村", "楼村", "营村", "冲村", "畈村", "寨村", "集村"]
COMMUNITY_WORDS = ["锦绣", "翠湖", "阳光", "滨河", "龙湖", "金色", "紫薇", "碧桂", "书香", "福苑", "南湖",
                   "建业", "香山", "和谐", "申城", "茶都", "浉河", "羊山", "明珠", "御景"]
COMMUNITY_SUFFIX = ["花园", "家园", "小区", "名苑", "华府", "新城", "雅居", "公馆"]
ROADS = ["新华路", "胜利路", "中山路", "民权路", "东方红大道", "新七大道", "羊山大道", "新二十四大道", "工区路",
         "申城大道", "北京路", "宝石路", "文化路", "浉河南路", "107国道", "312国道", "长江路", "南京路"]
COMPANY_WORDS = ["宏达", "鑫源", "华兴", "中原", "恒通", "建兴", "信达", "豫南", "鼎盛", "茶都", "天和", "瑞丰",
                 "金诚", "大别山", "淮河", "长城"]
TRADES = ["钢筋", "木工", "泥瓦", "水电安装", "外墙保温", "装修", "架子"]
SCHOOL_WORDS = ["第一", "第三", "第九", "实验", "育才", "胜利路", "新华", "羊山"]
HOSPITALS = ["信阳市中心医院", "信阳市第一人民医院", "信阳市第三人民医院", "信阳市中医院", "郑州大学第一附属医院",
             "武汉协和医院"]
PROJECTS = ["高铁新城道路配套", "城区棚户区改造", "产业集聚区扩区", "312国道改线", "浉河综合治理",
            "淮河生态经济带水利", "乡村振兴示范村建设", "农村人居环境整治", "城乡供水一体化", "老旧小区改造"]

SURNAMES = ("王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
            "贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹易")
MALE = ("伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞"
        "彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆"
        "磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎"
        "德行时泰盛雄琛钧冠策腾楠榕风航弘")
FEMALE = ("秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛"
        "艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉"
        "君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫"
        "芸菲寒伊亚宜可姬舒影荔枝思丽")

BUREAU_STAFF = ["张敏", "刘晓燕", "陈志强", "杨帆", "王建华", "李娜"]
LEADERS = ["市委副书记 马国栋", "副市长 罗文杰", "市信访局局长 周立新", "市信访局副局长 何静", "市政府秘书长 宋海涛"]
VISIT_PLACES = ["市群众来访接待中心", "市信访局接待大厅", "市信访局联合接访中心"]

UNIT_OF_DISTRICT = {d: str(REGION[d]) for d in DISTRICTS}


# --------------------------------------------------------------------------------------
# The matters people bring (templates). ``{…}`` slots are filled from the case's context.

@dataclasses.dataclass
class Matter:
    key: str
    category: str
    department: str              # the responsible city department's unit code
    variants: list               # (subject, facts, request) templates that belong together
    petition_type: str = "complaint"
    group: float = 0.0           # share that comes as a group visit
    accused_unit: str = None     # accusations: the unit named (never routed to it)
    accused_person: str = ""
    weight: int = 10
    evidence: str = ""           # title of an evidence PDF a petitioner may attach


MATTERS = [
    Matter("land", "城乡建设", "ZRZYJ", [
        ("{village}集体土地征收补偿款未足额发放",
         "{year}年{month}月，因{project}项目建设，我家{area}亩承包地和{rooms}间房屋被征收。当时{town}承诺补偿款"
         "{amount}万元在半年内发放到位，但至今只领到{paid}万元，剩余部分多次找{town}和村委会，都说资金没有到位。",
         "请求督促有关部门足额发放补偿款，并公开补偿标准和测算依据。"),
        ("反映{project}项目征地补偿标准过低",
         "我们{village}共有{n}户被征地，补偿标准比相邻的{village2}每亩低了{gap}元，村里也从未公开补偿款的分配"
         "明细。群众意见很大，多次到{town}反映没有结果。",
         "请求依法重新核定补偿标准，公开补偿款分配明细。"),
        ("{town}征地拆迁后安置房迟迟未交付",
         "{year}年我家房屋因{project}项目被拆除，协议约定两年内交付安置房，现在已经超期{late}个月，安置小区还是"
         "一片空地，过渡费也只发了一年，一家人只能在外租房。",
         "请求督促尽快建设并交付安置房，补发过渡安置费。"),
    ], group=0.45, weight=14, evidence="征收补偿协议（复印件）"),
    Matter("wages", "劳动和社会保障", "RSJ", [
        ("{company}拖欠{n}名农民工工资{amount}万元",
         "我们{n}人自{year}年{month}月起在{company}承建的{project}工地从事{trade}工作，工程已经完工，"
         "但公司以甲方没有结算为由拖欠我们工资共计{amount}万元。包工头{contractor}现在已经联系不上，"
         "我们多次到工地和公司讨要均无果。",
         "马上就要过年了，家里老人孩子等着用钱，恳请政府帮我们讨回血汗钱。"),
        ("讨要{company}拖欠的工资{owed}元",
         "{year}年我在{company}干了{months}个月{trade}，说好每天{daily}元，到年底只发了生活费，还欠{owed}元。"
         "公司给我打了欠条，答应{month}月前付清，到期后一直推脱。",
         "请求依法督促用人单位支付拖欠的工资。"),
    ], group=0.55, weight=14, evidence="工资欠条"),
    Matter("property", "城乡建设", "ZJJ", [
        ("{community}物业服务差、乱收费",
         "我是{district}{community}的业主。小区物业由{district}{firm}物业服务有限公司负责，近两年服务越来越差："
         "垃圾清运不及时，楼道灯坏了几个月没人修，物业费却从每平方米{fee}元涨到了{fee2}元，没有召开业主大会。",
         "请求住建部门依法查处，督促物业公司整改并公开收费依据。"),
        ("{community}电梯长期故障无人维修",
         "{community}{building}号楼的电梯从{month}月开始三天两头停运，有一次还困了人。物业说维修要动用公共"
         "维修资金，但资金使用方案一直没有拿出来，楼上住的老人已经一个多月没有下过楼。",
         "请求督促物业公司尽快维修电梯，公开公共维修资金使用情况。"),
        ("{community}开发商承诺的配套设施未兑现",
         "开发商在售楼时承诺小区配建幼儿园和{n}个地下车位，交房{years}年了都没有兑现，地下车位被改作仓库出租。",
         "请求责令开发商兑现承诺，依法查处虚假宣传。"),
    ], weight=10),
    Matter("school", "教育文体", "JYJ", [
        ("孩子在{district}就近入学被拒",
         "我家孩子今年{age}岁，户籍和房产都在{community}，按划片应到{school}上学，但报名时学校以学位已满为由拒收，"
         "让我们到{far}公里外的学校就读。同一小区有的孩子却被录取了，录取标准不公开。",
         "请求教育部门公开招生划片和录取名单，保障孩子就近入学。"),
        ("{school}老师组织有偿补课",
         "{school}的老师在周末和假期组织学生到校外补课，每人每月收费{fee3}元，不参加的学生在班上受到冷落。",
         "请求查处违规有偿补课行为。"),
        ("随迁子女入学材料审核过严",
         "我们夫妻在{district}打工{years}年，租住在{community}，孩子要在这里上{grade_school}，学校要求提供的居住证明"
         "和社保证明比文件规定的多了好几项，我们跑了{n}趟都没有办下来。",
         "请求按照政策简化材料，让随迁子女顺利入学。"),
    ], weight=9),
    Matter("medical", "医疗保障", "YBJ", [
        ("异地就医住院费用迟迟未报销",
         "我{year}年{month}月因病在{hospital}住院{days}天，花费{cost}元，已按规定办理了异地就医备案。出院后把"
         "材料交到{district}医保中心，{months}个月过去了还没有报销，每次打电话都说在审核。",
         "请求尽快按政策报销医疗费用。"),
        ("门诊慢特病待遇认定被多次退回",
         "我母亲患{disease}多年，每月药费{monthly}元，申请门诊慢特病待遇被以材料不全退回两次，每次要求补的材料都不一样。",
         "请求医保部门一次性告知所需材料，依法认定待遇。"),
    ], weight=8),
    Matter("noise", "环境保护", "SHJJ", [
        ("{community}附近工地夜间施工噪音扰民",
         "{community}旁边的{project}工地最近一个月每天晚上施工到凌晨{hour}点，打桩和渣土车的声音吵得周边居民"
         "无法休息，老人孩子身体都受到影响。我们打过12345热线，只管了两天。",
         "请求环保和城管部门依法查处，限定施工时间。"),
        ("{road}沿街商铺音响噪音扰民",
         "{road}沿街的几家商铺每天从早到晚用大功率音响招揽顾客，附近居民和学校深受其扰，劝说多次没有效果。",
         "请求有关部门加强管理，还居民安静的生活环境。"),
    ], weight=7),
    Matter("road", "交通运输", "JTJ", [
        ("{road}{town}段路面破损严重",
         "{road}{town}段路面坑洼不平，最深的坑有{depth}厘米，下雨天积水看不清，已经有好几位骑电动车的群众摔倒"
         "受伤。这条路是附近群众上下班和孩子上学的必经之路。",
         "请求尽快安排维修，消除安全隐患。"),
        ("{village}通村公路多处塌陷",
         "{village}到{town}的通村公路是{old_year}年修的，现在多处塌陷，大车无法通行，村里的农产品运不出去。",
         "请求将该路段纳入今年的道路改造计划。"),
    ], weight=8),
    Matter("veterans", "退役军人事务", "TYJRJ", [
        ("退役士兵安置待遇未落实",
         "我于{army_year}年入伍，{leave_year}年退役，属于政府安排工作的退役士兵，退役后被安置到{company}，"
         "单位改制后我被买断工龄，社会保险也断缴了，多次找有关部门没有解决。",
         "请求按政策落实安置待遇，接续社会保险。"),
        ("参战退役人员生活补助被停发",
         "我是参战退役人员，按政策每月应享受生活补助，自{year}年{month}月起补助被停发，{town}说是系统核查时信息"
         "不符，但一直没有告诉我哪里不符。",
         "请求恢复发放并补发停发期间的补助。"),
    ], group=0.3, weight=6),
    Matter("pollution", "环境保护", "SHJJ", [
        ("{town}{firm}化工公司向{river}排放污水",
         "{town}的{firm}化工有限公司夜间通过暗管向{river}排放污水，河水发黑发臭，下游{village}的鱼塘大量死鱼，"
         "群众用水也受到影响。我们拍了照片和视频，向{town}反映过多次。",
         "请求环保部门依法查处，责令停产整改并赔偿损失。"),
        ("{village}附近养殖场污染环境",
         "{village}村口新建了一个{scale}头规模的养猪场，粪污直接排进水沟，周边几百亩稻田受到污染，夏天臭气熏天。",
         "请求依法查处，恢复生态环境。"),
    ], group=0.25, weight=8, evidence="现场照片及说明"),
    Matter("social", "劳动和社会保障", "RSJ", [
        ("{company}未为职工缴纳社会保险",
         "我在{company}工作了{years}年，公司一直没有给我缴纳养老和医疗保险，去年离职时才发现。找公司理论，"
         "公司说当时签了自愿放弃社保的协议。",
         "请求依法督促单位为我补缴社会保险。"),
        ("灵活就业人员养老保险补缴问题",
         "我{year}年开始以灵活就业人员身份缴纳养老保险，中间因生病断缴{months}个月，现在想补缴，{district}社保中心"
         "说政策不允许补缴。",
         "请求明确答复补缴政策依据。"),
    ], weight=8),
    Matter("shanty", "城乡建设", "ZJJ", [
        ("{community}棚户区改造安置房逾期未交付",
         "我家在{town}{community}片区的老房子{year}年被列入棚户区改造，签协议时约定{years}年内回迁，现在已经"
         "超期{late}个月，安置房工地时停时建，过渡安置费也从{month}月起停发了。",
         "请求督促加快安置房建设，按时足额发放过渡安置费。"),
        ("棚改回迁房面积缩水",
         "回迁分房时我们发现实际面积比协议约定少了{short}平方米，开发商说是公摊计算方法变了，拒绝补偿差价。",
         "请求依法核实面积并补偿差价。"),
    ], group=0.5, weight=9),
    Matter("registry", "自然资源", "ZRZYJ", [
        ("{community}购房多年办不了不动产权证",
         "我{year}年在{community}购买了商品房，已经入住{years}年，开发商以土地出让金未缴清为由一直办不了不动产"
         "权证，孩子上学、办贷款都受影响，小区{n}户都是这种情况。",
         "请求协调解决办证问题。"),
        ("宅基地确权登记错误",
         "我家的宅基地在{year}年确权登记时被登记到了邻居{neighbor}名下，我们手里有{old_year}年的宅基地使用证。",
         "请求依法更正登记。"),
    ], group=0.35, weight=9),
    Matter("dibao", "民政", "MZJ", [
        ("{village}低保评定不公",
         "我家{family}，生活非常困难，今年申请低保没有通过，而村里有的家庭有车有门面房却享受低保，"
         "村委会评议时也没有张榜公示。",
         "请求依法公开低保评定结果，重新审核我家的申请。"),
        ("残疾人两项补贴未发放",
         "我是{grade}级肢体残疾，按政策应享受困难残疾人生活补贴和重度残疾人护理补贴，但自{year}年起一直没有发放。",
         "请求落实补贴政策并补发。"),
    ], weight=6),
    Matter("farm", "农业农村", "NYNCJ", [
        ("耕地地力保护补贴未发放到户",
         "我在{village}承包了{area}亩耕地，{year}年的耕地地力保护补贴一直没有打到一卡通上，问村里说名单报错了。",
         "请求核实后补发补贴。"),
        ("{firm}农业公司拖欠{village}土地流转租金",
         "{year}年村里把我们组{area2}亩地流转给{firm}农业开发公司种植茶叶，约定每亩每年租金{rent}元，"
         "公司已经两年没有付租金了。",
         "请求督促公司支付土地流转租金。"),
    ], group=0.3, weight=6),
    Matter("suggest_bus", "交通运输", "JTJ", [
        ("建议在{community}附近增设公交站点",
         "{community}周边新建了好几个小区，居住人口超过{people}人，但最近的公交站在{far}公里外，老人和孩子出行很不方便。",
         "建议有关部门实地调研，合理增设公交站点。"),
        ("建议在{school}门口设置交通信号灯",
         "{school}门口的{road}车流量大，早晚上下学时段孩子过马路非常危险，家长们都很担心。",
         "建议设置信号灯和减速带，上下学时段安排交警疏导。"),
    ], petition_type="suggestion", weight=5),
    Matter("suggest_city", "城乡建设", "CGJ", [
        ("建议在{road}增设路灯",
         "{road}从{community}到{school}一段没有路灯，晚上一片漆黑，居民夜间出行存在安全隐患。",
         "希望有关部门采纳。"),
        ("关于改善{town}农贸市场环境的建议",
         "{town}农贸市场占道经营现象严重，垃圾随意堆放，建议统一规划摊位，增设公厕和垃圾收集点。",
         "希望有关部门采纳。"),
    ], petition_type="suggestion", weight=4),
    Matter("accuse_village", "纪检监察", None, [
        ("检举{village}村干部虚报冒领{project}补助资金",
         "{village}党支部书记{accused}利用职务便利，在{project}项目中虚报工程量，套取补助资金约{amount}万元。"
         "村集体的土地承包收入从来不公开，群众要求查账被拒绝。",
         "请求纪检监察机关依法调查处理。"),
        ("检举{village}村干部优亲厚友违规评定低保",
         "{village}党支部书记{accused}把自己的亲属{small}人违规纳入低保，真正困难的群众却评不上。",
         "请求依法调查，取消违规享受的低保。"),
    ], petition_type="accusation", accused_person="{village}党支部书记{accused}", weight=5),
    Matter("accuse_enforce", "纪检监察", None, [
        ("反映城管执法人员粗暴执法",
         "{year}年{month}月{day}日，我在{road}路边卖自家种的蔬菜，几名穿制服的城管执法人员过来没收了我的三轮车"
         "和秤，还推搡我，既没有出示证件也没有开具任何手续。",
         "请求依法调查处理有关人员，退还被扣物品。"),
        ("检举城管执法人员违规罚款不开票据",
         "{road}的商户反映，城管执法人员{accused}经常以占道经营为由罚款，每次两三百元，从来不开票据。",
         "请求依法调查处理。"),
    ], petition_type="accusation", accused_unit="CGJ", accused_person="执法人员{accused}", weight=4),
]

DEPARTMENTS_NAMED = {"CGJ": "信阳市城市管理局", "SJJ": "信阳市市场监督管理局", "ZRZYJ": "信阳市自然资源和规划局"}
BUSINESSES = ["营业执照变更", "食品经营许可", "不动产抵押登记", "门头招牌审批"]
DISEASES = ["尿毒症", "糖尿病", "高血压", "冠心病", "肺结核", "类风湿关节炎"]
FAMILIES = ["丈夫常年患病卧床，两个孩子还在上学，全家靠我打零工维持", "老伴去世后我独自抚养残疾的儿子",
            "我今年七十多岁，没有子女，靠种两亩地生活"]
RIVERS = ["浉河", "淮河", "竹竿河", "潢河", "白露河", "史灌河", "寨河"]

CHANNEL_WEIGHTS = (("letter", 22), ("visit", 18), ("online", 27), ("phone", 10), ("video", 5), ("transfer", 18))
ONLINE_SOURCES = (("website", 40), ("wechat", 30), ("app", 15), ("hotline", 15))
TRANSFER_LEVELS = (("provincial", 75), ("national", 25))
TRANSFER_MODES = (("forward", 45), ("assign", 35), ("supervise", 12), ("copy", 8))
REF_PREFIX = {"website": "WZ", "wechat": "WX", "app": "APP", "hotline": "RX"}
MODE_CHAR = {"forward": "转", "assign": "交", "supervise": "督", "copy": "抄"}
LEVEL_PREFIX = {"provincial": "豫信", "national": "国信"}
LEVEL_NAME = {"provincial": "河南省信访局", "national": "国家信访局"}
MODE_NAME = {"forward": "转送", "assign": "交办", "supervise": "督办", "copy": "抄送"}
START = datetime.date(2024, 1, 1)
SPAN_DAYS = 300          # the demo cases were received in the last ~10 months
CHANNEL_TITLES = {"letter": "来信", "visit": "来访", "online": "网上信访", "phone": "来电", "video": "视频信访",
                  "transfer": "上级转办"}


@dataclasses.dataclass
class Attachment:
    filename: str
    kind: str            # "letter", "transfer", "evidence", "report" (a unit's handling report)
    title: str
    lines: list
    stamp: str = ""


@dataclasses.dataclass
class PlannedCase:
    body: dict
    registered_at: datetime.datetime
    by: str
    files: list                  # registered with the case (the letter, the transfer sheet)
    evidence: list               # filed into the origin folder after registration
    matter: str = ""
    unit: str = None             # the unit its assign or forward steps (up to now) routed it to
    town: str = ""
    facts: str = ""
    ask: str = ""
    steps: list = dataclasses.field(default_factory=list)    # PlannedStep, in order, none after ``now``
    repeat_of: "PlannedCase" = dataclasses.field(default=None, repr=False, compare=False)
    end: tuple = None            # (day, status) of the planned step that ends it (closed, rejected, …)
    rechecked: bool = False      # its plan goes through re-review (复核)

    @property
    def received(self):
        return datetime.datetime.fromisoformat(self.body["received_at"])


@dataclasses.dataclass
class PlannedStep:
    action: str                  # a ``casefiles.workflow`` action, or FILE_REPORT
    by: str                      # the username who takes it
    at: datetime.datetime
    body: dict                   # the action's parameters (``on`` included); PANEL and PlannedCase
                                 # values are filled in when the step is taken

    @property
    def on(self):
        return self.at.date()


def _weighted(rng, pairs):
    values = [v for v, _w in pairs]
    weights = [w for _v, w in pairs]
    return rng.choices(values, weights=weights, k=1)[0]


# --------------------------------------------------------------------------------------
# What became of the matters: the workflow steps (DOMAIN.md §3)

FILE_REPORT = "file-report"   # the unit files its handling report (办结报告) into the case, then reports
PANEL = "panel"               # a hearing panel: three experts of the pool, chosen when the step is taken
UNIT_USERS = {"411502": "unit", "411503": "unit2"}    # the demo users of cli.demo; other units: unit-CODE

BASIS = {
    "land": "《中华人民共和国土地管理法》《国有土地上房屋征收与补偿条例》",
    "wages": "《保障农民工工资支付条例》",
    "property": "《物业管理条例》《河南省物业管理条例》",
    "school": "《中华人民共和国义务教育法》",
    "medical": "《医疗保障基金使用监督管理条例》",
    "noise": "《中华人民共和国噪声污染防治法》",
    "road": "《中华人民共和国公路法》《公路安全保护条例》",
    "veterans": "《中华人民共和国退役军人保障法》《退役士兵安置条例》",
    "pollution": "《中华人民共和国水污染防治法》《畜禽规模养殖污染防治条例》",
    "social": "《中华人民共和国社会保险法》",
    "shanty": "《国有土地上房屋征收与补偿条例》",
    "registry": "《不动产登记暂行条例》",
    "dibao": "《社会救助暂行办法》",
    "farm": "《农村土地经营权流转管理办法》",
}
FINDINGS = {
    "support": "信访人反映的情况基本属实。",
    "explain": "信访人反映的问题部分属实，部分诉求超出现行政策规定。",
    "reject": "信访人反映的主要情况与调查核实的事实不符。",
}
RESULTS = {
    "support": "已责成有关单位限期整改，信访人的合理诉求已依法解决。",
    "explain": "已向信访人详细解释相关政策规定，对符合政策的诉求予以解决。",
    "reject": "信访人的诉求缺乏事实和法律依据，已依法作出不予支持的处理意见，并告知复查途径。",
}
OPINIONS = {
    "support": "信访人的诉求合理，责成有关单位限期整改到位，并将整改结果告知信访人",
    "explain": "向信访人解释相关政策规定，对符合政策的诉求在政策范围内予以解决",
    "reject": "信访人的诉求缺乏事实和法律依据，不予支持",
}
REJECT_REASONS = (
    "所反映事项已经或者依法应当通过诉讼、仲裁、行政复议等法定途径解决，已告知信访人依照有关法律、行政法规规定的"
    "程序向有关机关提出。",
    "所反映事项不属于本机关职权范围，已告知信访人向有权处理的机关提出。",
    "所反映事项已经进入诉讼程序，依照《信访工作条例》第二十二条不予受理。",
)
ACCUSATION_REASON = "属于检举控告类事项，依照《信访工作条例》第二十二条，已告知信访人向纪检监察机关提出。"
FILE_REASONS = {
    "copy": "上级信访部门抄送件，按要求存查备案。",
    "suggestion": "群众建议已转有关部门研究参考，存查备案。",
    "anonymous": "匿名检举材料线索不具体，无法核查，存查备案。",
    "other": "信访人反映的情况已在处理中，来信内容仅供参考，存查备案。",
}
INSTRUCTIONS = (
    "请责任单位高度重视，依法依规妥善处理，按期反馈办理情况。",
    "该事项群众反映强烈，请主要负责同志亲自过问，限期化解。",
    "请会同有关部门实地核查，提出化解方案，及时反馈办理进展。",
)
SUPERVISION_RESULTS = (
    "责任单位已按督办要求办理，信访人诉求已依法处理。",
    "经督办，责任单位已落实整改措施并反馈，督办事项办结。",
)
REVIEW_REASONS = ("对处理意见不服，认为调查不全面。", "认为处理意见未解决实际问题，请求重新核查。",
                  "认为补偿标准计算有误，处理意见依据不足。")
RECHECK_REASONS = ("对复查意见仍然不服，请求复核。", "认为复查未听取信访人意见，请求复核并举行听证。")
DECISION_OPINIONS = {
    "uphold": "原处理意见认定事实清楚，适用依据正确，程序合法，予以维持。",
    "change": "原处理意见部分认定有误，现予变更，责成责任单位依法补正。",
}
HEARING_RECORD = ("听证会上，信访人陈述了诉求和理由，责任单位说明了办理情况，听证员进行了询问和评议，"
                  "多数听证员认为原处理意见和复查意见事实清楚、依据充分。")
SATISFACTION_WEIGHTS = {
    "support": (("satisfied", 60), ("basically", 35), ("unsatisfied", 5)),
    "explain": (("satisfied", 25), ("basically", 45), ("unsatisfied", 30)),
    "reject": (("satisfied", 5), ("basically", 25), ("unsatisfied", 70)),
}
OUTCOME_WEIGHTS = (("support", 35), ("explain", 45), ("reject", 20))
SUPERVISION_KINDS = (("escalated", 40), ("difficult", 25), ("campaign", 15), ("leader_instruction", 20))


def unit_user(code):
    """The demo account that acts for a responsible unit."""
    return UNIT_USERS.get(code, f"unit-{code}")


_unit_names = None


def unit_name(code):
    global _unit_names
    if _unit_names is None:
        from casefiles.units import bundled_units
        _unit_names = {row["code"]: row["name"] for row in bundled_units()}
    return _unit_names.get(code, code)


def workday(day):
    """The day, or the Monday after it when it falls on a weekend (the office is closed)."""
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


class _Track:
    """The steps of one case while they are planned: days first (steps that answer a clock
    are planned within it), then put in order with times of day and cut off at ``now``."""

    def __init__(self, gen, case):
        self.gen, self.case = gen, case
        self.items = []

    def add(self, day, action, by, **body):
        self.items.append((day, len(self.items), action, by, {k: v for k, v in body.items() if v is not None}))
        return day

    def steps(self):
        rng, now = self.gen.rng, self.gen.now
        last = self.case.registered_at
        out = []
        for day, _order, action, by, body in sorted(self.items, key=lambda item: item[:2]):
            minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
            at = datetime.datetime.combine(day, datetime.time(minute // 60, minute % 60))
            if at <= last:
                at = last + datetime.timedelta(minutes=rng.randint(3, 40))
            if at > now:
                break
            out.append(PlannedStep(action, by, at, dict(body, on=at.date().isoformat())))
            last = at
        return out


def _days(n):
    return datetime.timedelta(days=n)


class _Fates:
    """``Generator.plan_steps``: what the bureau, the unit and the petitioner did, by kind of matter."""

    def plan_steps(self, case):
        """Plan the workflow steps of ``case`` (its ``steps``, ``unit``, ``end``)."""
        rng = self.rng
        track = _Track(self, case)
        body = case.body
        matter = next(m for m in MATTERS if m.key == case.matter)
        source = body.get("source") or {}
        anonymous = bool(body["petitioners"][0].get("anonymous"))
        start = case.registered_at.date()
        late = rng.random() < 0.08                     # triage after its 15 days: overdue for a while
        day = workday(start + _days(rng.randint(16, 35) if late else rng.randint(1, 9)))
        who = rng.choice(["clerk", "clerk", "assigner"])

        original = case.repeat_of
        if original is not None:
            ended_on, ended = original.end or (None, None)
            if ended == "closed" and ended_on <= day:
                track.add(day, "refuse-repeat", who, reason="信访人以同一事实和理由再次提出，该事项已依法处理完毕。",
                          original=original if original.rechecked else None)
                return self._done(case, track, (day, "not-reaccepted"))
            if (ended is None or (ended == "closed" and ended_on > day)) \
                    and body["petitioners"][0].get("id_number"):
                track.add(day, "mark-repeat", who, into=original)
                return self._done(case, track, (day, "merged"))

        district_unit = UNIT_OF_DISTRICT[body["district"]]
        unit = district_unit
        # the two urban districts handle their own matters; elsewhere a city department may
        if matter.department and matter.department != matter.accused_unit and rng.random() < 0.35 \
                and district_unit not in UNIT_USERS:
            unit = matter.department
        kind = body["petition_type"]
        if source.get("mode") == "copy":
            track.add(day, "file-for-record", who, reason=FILE_REASONS["copy"])
            return self._done(case, track, (day, "filed"))
        if kind == "accusation":
            if anonymous and rng.random() < 0.5:
                track.add(day, "file-for-record", who, reason=FILE_REASONS["anonymous"])
                return self._done(case, track, (day, "filed"))
            if anonymous or rng.random() < 0.35:
                track.add(day, "reject", who, reason=ACCUSATION_REASON)
                return self._done(case, track, (day, "rejected"))
            return self._forward(case, track, day, who, district_unit)
        if kind == "suggestion":
            fate = _weighted(rng, (("accept", 40), ("forward", 35), ("file", 25)))
        elif source.get("mode") in ("assign", "supervise"):
            fate = "assign"
        else:
            fate = _weighted(rng, (("reject", 7), ("file", 3), ("forward", 12), ("assign", 52), ("accept", 26)))
        if fate == "reject":
            track.add(day, "reject", who, reason=rng.choice(REJECT_REASONS))
            return self._done(case, track, (day, "rejected"))
        if fate == "file":
            reason = FILE_REASONS["suggestion" if kind == "suggestion" else "other"]
            track.add(day, "file-for-record", who, reason=reason)
            return self._done(case, track, (day, "filed"))
        if fate == "forward":
            return self._forward(case, track, day, who, unit)
        if fate == "accept":
            return self._accept(case, track, day, who)
        return self._assign(case, track, day, unit)

    def _done(self, case, track, end=None):
        case.end = end
        case.steps = track.steps()
        case.unit = None
        for step in case.steps:
            if step.action in ("assign", "forward"):
                case.unit = step.body["unit"]
            elif step.action == "object":
                case.unit = None
        return case

    def _other_unit(self, case, unit):
        district_unit = UNIT_OF_DISTRICT[case.body["district"]]
        matter = next(m for m in MATTERS if m.key == case.matter)
        if unit != district_unit:
            return district_unit
        if matter.department and matter.department != matter.accused_unit:
            return matter.department
        return None

    def _objection(self, case, track, day, unit):
        """The unit returns a wrong assignment within its 5 working days; the bureau routes
        it to the right unit. Returns (day, unit) of the new routing (or None)."""
        rng = self.rng
        other = self._other_unit(case, unit)
        if other is None or rng.random() >= 0.06:
            return None
        objected = track.add(workday(day + _days(rng.randint(1, 3))), "object", unit_user(unit),
                             reason=f"该事项属于{unit_name(other)}职责范围，不属于本单位职责，请予改派。")
        return workday(objected + _days(rng.randint(1, 4))), other

    def _forward(self, case, track, day, who, unit):
        track.add(day, "forward", who, unit=unit)
        again = self._objection(case, track, day, unit)
        if again is not None:
            track.add(again[0], "forward", who, unit=again[1])
        return self._done(case, track)

    def _supervision(self, case, track, begun, replied, kind=None, due=None, leader=None):
        """A supervision (督办) while the case is handled; returns the day it ends."""
        rng = self.rng
        kind = kind or _weighted(rng, SUPERVISION_KINDS)
        if kind in ("leader_instruction", "leader_owned") and not leader:
            leader = rng.choice(LEADERS)
        on = workday(begun + _days(rng.randint(2, max(2, (replied - begun).days // 2))))
        due = due if due is not None and due > on + _days(5) else None
        track.add(on, "supervise", "supervisor", kind=kind, instructions=rng.choice(INSTRUCTIONS), leader=leader,
                  due=due.isoformat() if due else None)
        ends = min(replied + _days(rng.randint(1, 3)), on + _days(rng.randint(18, 26)))
        if due is not None:
            ends = min(ends, due - _days(2))
        return track.add(max(workday(ends), on), "end-supervision", "supervisor",
                         result=rng.choice(SUPERVISION_RESULTS))

    def _accept(self, case, track, day, who):
        """The bureau accepts and handles the matter itself (60日, one extension of 30日)."""
        rng = self.rng
        track.add(day, "accept", who)
        outcome = _weighted(rng, OUTCOME_WEIGHTS)
        roll = rng.random()
        if roll < 0.06:
            extended = workday(day + _days(rng.randint(45, 53)))     # within the 60 days, by 30 more
            track.add(extended, "extend", "assigner", days=30, reason="案情复杂，涉及多个部门，需进一步调查核实",
                      approved_by="市信访局局长 周立新", told_on=extended.isoformat())
            replied = day + _days(rng.randint(65, 85))
        elif roll < 0.14:
            replied = day + _days(rng.randint(61, 95))          # late: the handling clock runs out
        else:
            replied = day + _days(rng.randint(12, 50))
        replied = workday(replied)
        ends = None
        if case.body.get("leader") and rng.random() < 0.6:
            ends = self._supervision(case, track, day, replied, "leader_owned", leader=case.body["leader"])
        elif rng.random() < 0.08:
            ends = self._supervision(case, track, day, replied)
        return self._reply(case, track, replied, outcome, "assigner", None, ends)

    def _assign(self, case, track, day, unit):
        """The assigner assigns it to a unit, which reports (办结报告) and replies."""
        rng = self.rng
        source = case.body.get("source") or {}
        due = datetime.date.fromisoformat(source["due"]) if source.get("due") else None
        if due is not None and due <= day + _days(15):
            due = None
        outcome = _weighted(rng, OUTCOME_WEIGHTS)
        track.add(day, "assign", "assigner", unit=unit, due=due.isoformat() if due else None)
        if due is None:
            again = self._objection(case, track, day, unit)
            if again is not None:
                day, unit = again
                track.add(day, "assign", "assigner", unit=unit)
        limit = (due - day).days if due else 60
        low = max(5, min(10, limit // 3))
        if rng.random() < 0.10:
            reported = day + _days(rng.randint(limit + 1, limit + 40))   # late: the unit's clock runs out
        else:
            reported = day + _days(rng.randint(low, max(low, limit - 10)))
        reported = workday(reported)
        self._report(case, track, reported, unit, outcome, "办结报告")
        if rng.random() < 0.12:
            returned = track.add(workday(reported + _days(rng.randint(1, 3))), "return-report", "assigner",
                                 opinion="办结报告未附相关证明材料，请补充调查核实情况后重新报送。")
            reported = workday(returned + _days(rng.randint(4, 12)))
            self._report(case, track, reported, unit, outcome, "办结报告（补充）")
        approved = track.add(workday(reported + _days(rng.randint(1, 3))), "approve-report", "assigner",
                             opinion="办理情况属实，处理意见适当，同意办结。")
        replied = workday(approved + _days(rng.randint(1, 4)))
        ends = None
        if source.get("mode") == "supervise":
            ends = self._supervision(case, track, day, replied, "key", due=due)
        elif rng.random() < 0.12:
            ends = self._supervision(case, track, day, replied)
        return self._reply(case, track, replied, outcome, unit_user(unit), unit, ends)

    def _report(self, case, track, day, unit, outcome, title):
        subject = case.body["subject"]
        lines = ["市信访局：", "",
                 f"　　你局交办的“{subject}”信访事项收悉。我单位高度重视，指定专人调查核实，现将办理情况报告如下：",
                 f"　　一、调查核实情况：{FINDINGS[outcome]}",
                 f"　　二、处理结果：{RESULTS[outcome]}",
                 "　　三、下一步工作：我单位将持续跟踪，做好解释和稳定工作。", "",
                 unit_name(unit), f"{day.year}年{day.month}月{day.day}日"]
        summary = f"{FINDINGS[outcome]}{RESULTS[outcome]}"
        track.add(day, FILE_REPORT, unit_user(unit), title=title, text=summary,
                  attachment=Attachment(f"{title}.pdf", "report", title, lines, stamp=unit_name(unit)))
        track.add(day, "report", unit_user(unit), summary=summary)

    def _decision(self, track, day, action, by, **body):
        """A decision (信访处理意见书, 复查/复核意见书) delivered with the step, or its delivery
        recorded later (送达回证); returns the day it was delivered."""
        rng = self.rng
        delivered = day + _days(rng.randint(0, 4))
        later = delivered > self.now.date() or rng.random() < 0.25
        if later:
            delivered = workday(delivered)
        track.add(day, action, by, delivered_on=None if later else delivered.isoformat(), **body)
        if later:
            track.add(delivered, "deliver", "clerk" if action == "reply" else by, delivered_on=delivered.isoformat())
        return delivered

    def _reply(self, case, track, day, outcome, by, unit, supervision_ends=None):
        """The 信访处理意见书, then: satisfied and closed, or a review (复查), a re-review (复核)
        with a hearing (听证), and closed when the petitioner's windows have closed."""
        rng = self.rng
        basis = BASIS.get(case.matter, "") + "《信访工作条例》"
        delivered = self._decision(track, day, "reply", by, outcome=outcome, facts=f"经调查核实，{FINDINGS[outcome]}",
                                   basis=basis, opinion=OPINIONS[outcome])
        close = None
        evaluated = rng.random() < 0.7
        rating = _weighted(rng, SATISFACTION_WEIGHTS[outcome])
        if evaluated:
            evaluated_on = track.add(workday(delivered + _days(rng.randint(0, 6))), "evaluate", "clerk",
                                     bureau=rating, unit=rating if unit else None)
            if rating != "unsatisfied" and rng.random() < 0.9:
                close = workday(evaluated_on + _days(rng.randint(0, 4)))
        if close is None:
            if rng.random() < (0.7 if evaluated else 0.25):
                close = self._review(case, track, delivered)
            else:
                close = workday(delivered + _days(rng.randint(39, 50)))    # the 30-day review window closed
        if supervision_ends is not None:
            close = max(close, supervision_ends)
        track.add(close, "close", "assigner")
        if rng.random() < 0.08:                # bound into a dossier and archived (slow: a few)
            retention = "Y" if (case.body.get("group_size", 0) > 1 or case.body.get("leader") or case.rechecked) \
                else "30" if any(i[2] == "request-review" for i in track.items) else "10"
            track.add(workday(close + _days(rng.randint(14, 40))), "archive", "admin", retention=retention)
        return self._done(case, track, (close, "closed"))

    def _review(self, case, track, delivered):
        rng = self.rng
        requested = track.add(workday(delivered + _days(rng.randint(5, 26))), "request-review", "clerk",
                              reasons=rng.choice(REVIEW_REASONS))
        decided = workday(requested + _days(rng.randint(10, 25)))
        decision = _weighted(rng, (("uphold", 80), ("change", 20)))
        delivered = self._decision(track, decided, "decide-review", "reviewer", decision=decision,
                                   opinion=DECISION_OPINIONS[decision])
        if rng.random() >= 0.5:
            return workday(delivered + _days(rng.randint(39, 50)))      # the 30-day re-review window closed
        case.rechecked = True
        requested = track.add(workday(delivered + _days(rng.randint(5, 26))), "request-recheck", "clerk",
                              reasons=rng.choice(RECHECK_REASONS))
        if rng.random() < 0.6:
            scheduled = workday(requested + _days(rng.randint(2, 8)))
            held = workday(scheduled + _days(rng.randint(7, 14)))
            track.add(scheduled, "schedule-hearing", "reviewer", hearing_date=held.isoformat(), panel=PANEL,
                      place="市信访局听证室")
            track.add(held, "record-hearing", "reviewer", record=HEARING_RECORD)
            decided = workday(held + _days(rng.randint(2, 12)))
        else:
            decided = workday(requested + _days(rng.randint(10, 25)))
        decision = _weighted(rng, (("uphold", 85), ("change", 15)))
        delivered = self._decision(track, decided, "decide-recheck", "reviewer", decision=decision,
                                   opinion=DECISION_OPINIONS[decision])
        return workday(delivered + _days(rng.randint(1, 7)))


class Generator(_Fates):
    """Plans demo cases deterministically from ``seed`` up to ``now``."""

    def __init__(self, seed=1, now=None):
        self.rng = random.Random(seed)
        self.now = (now or localtime.now()).replace(microsecond=0)
        self.used_ids = set()
        self.used_refs = set()
        self.online_seq = 0

    # people ---------------------------------------------------------------------------
    def name(self, male=None):
        rng = self.rng
        male = rng.random() < 0.55 if male is None else male
        pool = MALE if male else FEMALE
        surname = rng.choice(SURNAMES)
        given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
        return surname + given

    def phone(self):
        rng = self.rng
        prefix = rng.choice(["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                             "156", "157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185",
                             "186", "187", "188", "189", "191", "199"])
        return prefix + "".join(rng.choice("0123456789") for _ in range(8))

    def person(self, district, town):
        rng = self.rng
        male = rng.random() < 0.55
        name = self.name(male)
        born = START.replace(year=rng.randint(1945, 2003)) + datetime.timedelta(days=rng.randint(0, 364))
        while True:
            seq = rng.randint(0, 499) * 2 + (1 if male else 0)
            id_number = make_id_number(REGION[district], born, seq)
            if id_number not in self.used_ids:
                self.used_ids.add(id_number)
                break
        if "街道" in town:
            address = f"信阳市{district}{town}{self.community()}{rng.randint(1, 28)}号楼{rng.randint(1, 4)}单元" \
                      f"{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
        else:
            address = f"信阳市{district}{town}{self.village()}{rng.choice('一二三四五六七八')}组{rng.randint(1, 60)}号"
        return {"name": name, "id_number": id_number, "phone": self.phone(), "address": address}

    def village(self):
        return self.rng.choice(VILLAGE_PARTS) + self.rng.choice(VILLAGE_SUFFIX)

    def community(self):
        return self.rng.choice(COMMUNITY_WORDS) + self.rng.choice(COMMUNITY_SUFFIX)

    def company(self):
        return "信阳市" + self.rng.choice(COMPANY_WORDS) + self.rng.choice(["建筑工程", "置业", "建设", "实业"]) + "有限公司"

    # dates ----------------------------------------------------------------------------
    def day(self, working=True, after=None):
        """A day in the last ``SPAN_DAYS`` days (or since ``after``), recent days likelier:
        the bureau's desk holds more new matters than old ones."""
        rng = self.rng
        today = self.now.date()
        first = max(after or START, START, today - datetime.timedelta(days=SPAN_DAYS))
        span = (today - first).days
        if span < 0:
            return today
        for _ in range(20):
            day = today - datetime.timedelta(days=int(span * (1 - math.sqrt(rng.random()))))
            if not working or day.weekday() < 5:
                return day
        return day

    def moment(self, day, office=True):
        rng = self.rng
        if office:
            minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
        else:
            minute = rng.randint(6 * 60, 23 * 60 + 59)
        at = datetime.datetime.combine(day, datetime.time(minute // 60, minute % 60))
        return min(at, self.now - datetime.timedelta(minutes=1))

    # context of one matter ---------------------------------------------------------------
    def context(self, district, town, received):
        rng = self.rng
        year = received.year - rng.randint(1, 5)
        amount = rng.choice([3.6, 8.2, 12.5, 18, 23.7, 36, 45.8, 68, 96.5, 120])
        return {
            "district": district, "town": town, "village": self.village(), "village2": self.village(),
            "community": self.community(), "company": self.company(), "firm": rng.choice(COMPANY_WORDS),
            "small": rng.choice("二三四五"), "grade_school": rng.choice(["小学", "初中"]),
            "project": f"{district}{rng.choice(PROJECTS)}", "road": rng.choice(ROADS),
            "school": f"{district.rstrip('区县')}{rng.choice(SCHOOL_WORDS)}小学" if rng.random() < 0.6 else
                      f"信阳市{rng.choice(SCHOOL_WORDS)}中学",
            "hospital": rng.choice(HOSPITALS), "disease": rng.choice(DISEASES), "family": rng.choice(FAMILIES),
            "river": rng.choice(RIVERS), "dept": rng.choice(list(DEPARTMENTS_NAMED.values())),
            "business": rng.choice(BUSINESSES), "trade": rng.choice(TRADES),
            "contractor": rng.choice(SURNAMES) + "某", "accused": rng.choice(SURNAMES) + "某某",
            "neighbor": rng.choice(SURNAMES) + "某",
            "year": year, "old_year": rng.randint(1985, 2005), "month": rng.randint(1, 12), "day": rng.randint(1, 28),
            "army_year": rng.randint(1979, 2005), "leave_year": rng.randint(2006, 2012),
            "n": rng.randint(6, 48), "area": rng.choice([1.2, 2.5, 3, 4.6, 6.8]), "area2": rng.randint(80, 600),
            "rooms": rng.randint(2, 8), "amount": amount, "paid": round(amount * rng.choice([0.2, 0.35, 0.5]), 1),
            "gap": rng.choice([3000, 5000, 8000, 12000]), "months": rng.randint(3, 14),
            "daily": rng.choice([180, 220, 260, 300]), "owed": rng.choice([8600, 15400, 23800, 31200]),
            "building": rng.randint(1, 30), "fee": rng.choice([0.6, 0.8, 1.0]), "fee2": rng.choice([1.4, 1.6, 1.8]),
            "years": max(1, received.year - year), "age": rng.choice([6, 7, 12]), "far": rng.choice([3, 4.5, 6, 8]),
            "fee3": rng.choice([300, 600, 800, 1200]), "days": rng.randint(7, 45),
            "cost": rng.randint(20000, 260000), "monthly": rng.choice([800, 1500, 2600]),
            "hour": rng.choice([1, 2, 3]), "depth": rng.choice([15, 20, 30]), "scale": rng.choice([500, 2000, 5000]),
            "late": rng.randint(3, 12 * (received.year - year)), "short": rng.randint(4, 15),
            "grade": rng.choice(["一", "二"]),
            "rent": rng.choice([500, 600, 800]), "people": rng.choice([5000, 8000, 12000]),
        }

    # one case ----------------------------------------------------------------------------
    def plan_one(self, matter=None, person=None, district=None, town=None, repeat_of=None, after=None):
        rng = self.rng
        matter = matter or rng.choices(MATTERS, weights=[m.weight for m in MATTERS], k=1)[0]
        district = district or rng.choices(DISTRICTS, weights=DISTRICT_WEIGHTS, k=1)[0]
        town = town or rng.choice(TOWNS[district])
        channel = _weighted(rng, CHANNEL_WEIGHTS)
        if matter.petition_type == "accusation" and channel in ("video", "transfer") and rng.random() < 0.5:
            channel = "letter"
        online = channel in ("online", "phone")
        day = self.day(working=not online, after=after)
        received = self.moment(day, office=not online)
        ctx = self.context(district, town, received)
        subject, facts, ask = (part.format(**ctx) for part in rng.choice(matter.variants))
        if repeat_of:
            first = repeat_of
            subject = f"再次反映：{first.body['subject']}"
            facts, ask = first.facts, first.ask
            when = first.received
            facts = (f"我于{when.year}年{when.month}月{when.day}日反映过此事（{CHANNEL_TITLES[first.body['channel']]}），"
                     f"至今没有得到解决。" + facts)

        people = [person or self.person(district, town)]
        anonymous = matter.petition_type == "accusation" and rng.random() < 0.35 \
            and channel not in ("visit", "video") and person is None
        group = channel in ("visit", "video") and rng.random() < matter.group
        group_size = 0
        if group:
            for _ in range(rng.randint(1, 4)):
                people.append(self.person(district, rng.choice(TOWNS[district])))
            group_size = rng.randint(len(people) + 1, 40)
        primary = people[0]
        body = {
            "channel": channel, "received_at": received.isoformat(), "subject": subject,
            "district": district, "category": matter.category, "petition_type": matter.petition_type,
        }
        if matter.petition_type == "accusation":
            body["accused"] = {"unit": matter.accused_unit,
                               "person": matter.accused_person.format(**ctx) if matter.accused_person else ""}
        intro = f"我是{district}{town}的{'群众' if not anonymous else '一名群众'}"
        if not anonymous:
            intro = f"我叫{primary['name']}，是{district}{town}的群众"
        text = f"{intro}。{facts}{ask}"
        files = []
        by = rng.choice(["clerk", "clerk", "assigner"])
        if channel == "letter":
            written = received.date() - datetime.timedelta(days=rng.randint(2, 6))
            signature = "一名知情群众" if anonymous else primary["name"]
            lines = ["尊敬的信阳市信访局领导：", "", f"　　您好！{text}", "", "　　此致", "敬礼！", "",
                     f"信访人：{signature}"]
            if not anonymous:
                lines += [f"联系电话：{primary['phone']}", f"住址：{primary['address']}"]
            lines.append(f"{written.year}年{written.month}月{written.day}日")
            body["content"] = "\n".join(line for line in lines if line != "").replace("　　", "")
            files.append(Attachment("来信.pdf", "letter", "来信", lines,
                                    stamp=f"信阳市信访局\n来信登记\n{received:%Y.%m.%d}"))
        elif channel in ("visit", "video"):
            names = "、".join(p["name"] for p in people)
            who = f"{names}（共{group_size}人来访，推选代表{len(people)}人）" if group else names
            place = rng.choice(VISIT_PLACES) if channel == "visit" else "市信访局视频接访室"
            leader = rng.choice(LEADERS) if channel == "visit" and rng.random() < 0.15 else ""
            staff = "、".join(rng.sample(BUREAU_STAFF, 2))
            record = [f"接谈时间：{received.year}年{received.month}月{received.day}日 {received:%H:%M}",
                      f"接谈地点：{place}", f"来访人：{who}",
                      f"接谈人员：{leader + '、' if leader else ''}{staff}", f"来访人反映：{facts}", f"来访人诉求：{ask}",
                      "接谈意见：已登记，将按照《信访工作条例》规定在十五日内书面告知是否受理。"]
            body["content"] = "\n".join(record)
            body["visit_place"] = place
            body["leader"] = leader
            body["group_size"] = group_size or len(people)
        elif channel == "online":
            source = _weighted(rng, ONLINE_SOURCES)
            self.online_seq += 1
            body["online_source"] = source
            body["external_ref"] = f"{REF_PREFIX[source]}{received:%Y%m%d}{self.online_seq:05d}"
            body["content"] = text
            if rng.random() < 0.5 and person is None:
                people = [{"name": primary["name"], "phone": primary["phone"]}] if not anonymous else \
                    [{"anonymous": True}]
        elif channel == "phone":
            body["content"] = f"来电人反映：{facts}来电人诉求：{ask}"
            people = [{"name": primary["name"], "phone": primary["phone"]}] if not anonymous else \
                [{"anonymous": True, "phone": primary["phone"]}]
        else:  # transfer
            level = _weighted(rng, TRANSFER_LEVELS)
            mode = _weighted(rng, TRANSFER_MODES)
            while True:
                ref = f"{LEVEL_PREFIX[level]}{MODE_CHAR[mode]}〔{received.year}〕{rng.randint(1, 999)}号"
                if ref not in self.used_refs:
                    self.used_refs.add(ref)
                    break
            due = None
            if mode in ("assign", "supervise"):
                due = (received.date() + datetime.timedelta(days=rng.choice([30, 45, 60]))).isoformat()
            body["source"] = {"level": level, "mode": mode, "ref": ref, "due": due}
            who = "匿名群众" if anonymous else primary["name"]
            body["content"] = (f"{LEVEL_NAME[level]}{MODE_NAME[mode]}（{ref}）：{who}反映，{facts}{ask}")
            sheet = [f"编号：{ref}", f"信访人：{who}", f"问题属地：信阳市{district}", f"反映问题：{subject}",
                     f"主要内容：{facts}", f"诉求：{ask}",
                     "办理要求：请按照《信访工作条例》规定依法处理" + (f"，并于{due}前报送办理结果。" if due else "。"),
                     f"{LEVEL_NAME[level]}　{received.year}年{received.month}月{received.day}日"]
            files.append(Attachment(f"{MODE_NAME[mode]}单.pdf", "transfer",
                                    f"信访事项{MODE_NAME[mode]}单", sheet, stamp=f"{LEVEL_NAME[level]}"))
        if anonymous and channel not in ("phone",):
            people = [{"anonymous": True}]
        evidence = []
        if matter.evidence and channel in ("letter", "visit") and rng.random() < 0.3:
            evidence.append(Attachment(f"{matter.evidence}.pdf", "evidence", matter.evidence,
                                    [matter.evidence, "", f"当事人：{primary['name']}", f"事由：{subject}",
                                     f"（信访人提交的材料，共{rng.randint(1, 3)}页）"]))
        body["petitioners"] = [dict(p, primary=(i == 0)) for i, p in enumerate(people)]

        if channel == "letter":
            registered = self.moment(received.date() + datetime.timedelta(days=rng.randint(0, 2)))
        else:
            registered = received + datetime.timedelta(minutes=rng.randint(5, 240))
        registered = max(min(registered, self.now), received)

        return PlannedCase(body=body, registered_at=registered, by=by, files=files, evidence=evidence,
                           matter=matter.key, town=town, facts=facts, ask=ask, repeat_of=repeat_of)

    def plan(self, count):
        """``count`` planned cases, some of them repeat petitions by the same people, in date order,
        each with its workflow steps up to ``now``."""
        out = []
        while len(out) < count:
            case = self.plan_one()
            out.append(case)
            first = case.body["petitioners"][0]
            if (len(out) < count and first.get("id_number") and case.body["petition_type"] == "complaint"
                    and self.rng.random() < 0.12):
                received = datetime.datetime.fromisoformat(case.body["received_at"]).date()
                matter = next(m for m in MATTERS if m.key == case.matter)
                person = {k: first[k] for k in ("name", "id_number", "phone", "address")}
                for _ in range(self.rng.randint(1, 3)):
                    if len(out) >= count or received >= self.now.date() - datetime.timedelta(days=3):
                        break
                    later = self.plan_one(matter=matter, person=person, district=case.body["district"],
                                          town=case.town, repeat_of=case, after=received + datetime.timedelta(days=1))
                    out.append(later)
                    received = datetime.datetime.fromisoformat(later.body["received_at"]).date()
        out.sort(key=lambda c: c.body["received_at"])
        for case in out:          # in date order: a repeat item is planned after its original
            self.plan_steps(case)
        return out


# --------------------------------------------------------------------------------------
# PDFs

FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_font = None


def pdf_font():
    """The font's name in ReportLab: WenQuanYi (embedded) if installed, else STSong-Light."""
    global _font
    if _font is None:
        from reportlab.pdfbase import pdfmetrics
        for path in FONT_CANDIDATES:
            if os.path.exists(path):
                from reportlab.pdfbase.ttfonts import TTFont
                try:
                    pdfmetrics.registerFont(TTFont("DemoWQY", path, subfontIndex=0))
                    _font = "DemoWQY"
                    break
                except Exception:   # a broken font file: fall back to the CID font
                    continue
        if _font is None:
            from reportlab.pdfbase.cidfonts import UnicodeCIDFont
            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            _font = "STSong-Light"
    return _font


def wrap(text, font, size, width):
    from reportlab.pdfbase.pdfmetrics import stringWidth
    lines, current = [], ""
    for ch in text:
        if stringWidth(current + ch, font, size) > width:
            lines.append(current)
            current = ch
        else:
            current += ch
    lines.append(current)
    return lines


def render_pdf(attachment):
    """A small A4 PDF of the attachment's lines, with a red receipt stamp."""
    from reportlab.lib.colors import Color
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = pdf_font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(attachment.title)
    width, height = A4
    size = 13 if attachment.kind == "letter" else 12
    leading = size * 1.9
    margin = 64
    title = {"transfer": attachment.title, "report": attachment.title}.get(attachment.kind, "")

    def stamp():
        if not attachment.stamp:
            return
        c.saveState()
        red = Color(0.8, 0.1, 0.1, alpha=0.85)
        c.setStrokeColor(red)
        c.setFillColor(red)
        c.setLineWidth(1.6)
        parts = attachment.stamp.split("\n")
        if attachment.kind == "letter":
            x, y, w, h = width - margin - 130, height - 60 - 16 * len(parts), 130, 16 * len(parts) + 10
            c.rect(x, y, w, h)
            for i, part in enumerate(parts):
                c.setFont(font, 10)
                c.drawCentredString(x + w / 2, y + h - 16 - i * 16, part)
        else:
            cx, cy = width - margin - 70, 120
            c.circle(cx, cy, 46)
            c.setFont(font, 10)
            c.drawCentredString(cx, cy + 4, parts[0])
            c.drawCentredString(cx, cy - 12, "★")
        c.restoreState()

    y = height - 90
    stamp()
    if title:
        c.setFont(font, 18)
        c.drawCentredString(width / 2, y, title)
        y -= 40
    c.setFont(font, size)
    for paragraph in attachment.lines:
        for line in wrap(paragraph, font, size, width - 2 * margin) if paragraph else [""]:
            if y < 72:
                c.showPage()
                c.setFont(font, size)
                y = height - 72
            c.drawString(margin, y, line)
            y -= leading
    c.showPage()
    c.save()
    return buf.getvalue()
