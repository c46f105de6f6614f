"""The console scripts: adduser, units and the import of online messages, run the way an
operator runs them (in-process through ``main(argv)``, and once as real console scripts),
on a fresh data folder per test."""
import csv
import io
import os
import subprocess
import sys

import pytest
import webtest

from cli import adduser, import_messages, units

from .support import close_app, make_app, open_site

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(HERE, "development.ini")
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def cli_var(var, monkeypatch):
    monkeypatch.setenv("CASEFILES_VAR", str(var))
    return var


def stdin(monkeypatch, text):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def opened(var):
    """(app, connection, site) on the data folder the scripts wrote."""
    app = make_app(var)
    conn, site = open_site(app)
    return app, conn, site


# adduser ---------------------------------------------------------------------------------

def test_adduser_creates_a_user_who_can_log_in(cli_var, monkeypatch, capsys):
    stdin(monkeypatch, "a-long-password\n")
    assert adduser.main([CONFIG, "wang", "--role", "unit", "--unit", "411502", "--name", "王主任"]) == 0
    out = capsys.readouterr().out
    assert "wang" in out and "411502" in out and "浉河区人民政府" in out
    app = make_app(cli_var)
    try:
        client = webtest.TestApp(app)
        res = client.post_json("/api/login", {"username": "wang", "password": "a-long-password"})
        assert res.json["user"]["roles"] == ["unit"]
        client.post_json("/api/login", {"username": "wang", "password": "a-long-password\n"}, status=401)
        conn, site = open_site(app)
        user = site.users["wang"]
        assert (user.name, user.unit) == ("王主任", "411502")
        conn.close()
    finally:
        close_app(app)


def test_adduser_several_roles(cli_var, monkeypatch):
    stdin(monkeypatch, "a-long-password\r\n")
    assert adduser.main([CONFIG, "li", "--role", "clerk", "--role", "assigner"]) == 0
    app, conn, site = opened(cli_var)
    try:
        assert site.users["li"].roles == ("clerk", "assigner")
        assert site.users.authenticate("li", "a-long-password") is not None
    finally:
        conn.close()
        close_app(app)


@pytest.mark.parametrize("argv, password, expected", [
    (["zhao", "--role", "boss"], "a-long-password\n", "角色应为"),
    (["zhao"], "a-long-password\n", "角色应为"),
    (["zhao", "--role", "unit", "--unit", "999999"], "a-long-password\n", "没有代码为 999999 的责任单位"),
    (["zhao", "--role", "unit"], "a-long-password\n", "责任单位用户须属于一个责任单位"),
    (["zhao", "--role", "clerk"], "short\n", "密码至少 8 个字符"),
    (["zhao", "--role", "clerk"], "", "密码至少 8 个字符"),
    (["bad name", "--role", "clerk"], "a-long-password\n", "username"),
])
def test_adduser_refuses_bad_input_with_exit_2(cli_var, monkeypatch, capsys, argv, password, expected):
    stdin(monkeypatch, password)
    assert adduser.main([CONFIG] + argv) == 2
    assert expected in capsys.readouterr().err
    app, conn, site = opened(cli_var)
    try:
        assert "zhao" not in site.users and len(site.users) == 0
    finally:
        conn.close()
        close_app(app)


def test_adduser_refuses_an_existing_user(cli_var, monkeypatch, capsys):
    stdin(monkeypatch, "a-long-password\n")
    assert adduser.main([CONFIG, "qian", "--role", "clerk"]) == 0
    stdin(monkeypatch, "another-password\n")
    assert adduser.main([CONFIG, "qian", "--role", "admin"]) == 2
    assert "该用户名已被使用" in capsys.readouterr().err
    app, conn, site = opened(cli_var)
    try:
        assert site.users["qian"].roles == ("clerk",)
        assert site.users.authenticate("qian", "a-long-password") is not None
    finally:
        conn.close()
        close_app(app)


def test_adduser_missing_config_is_a_usage_error(cli_var, monkeypatch, capsys):
    stdin(monkeypatch, "a-long-password\n")
    assert adduser.main([os.path.join(str(cli_var), "nope.ini"), "x", "--role", "clerk"]) == 2
    assert "nope.ini" in capsys.readouterr().err


def test_console_scripts_as_installed(cli_var):
    """The installed entry points: password on a pipe, exit status, Chinese errors."""
    env = dict(os.environ, CASEFILES_VAR=str(cli_var))
    ok = subprocess.run([os.path.join(BIN, "casefiles-adduser"), CONFIG, "sun", "--role", "auditor"],
                        input="piped-password-1\n", capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([os.path.join(BIN, "casefiles-adduser"), CONFIG, "sun", "--role", "auditor"],
                         input="piped-password-1\n", capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert "该用户名已被使用" in bad.stderr
    listed = subprocess.run([os.path.join(BIN, "casefiles-units"), CONFIG], capture_output=True, text=True,
                            env=env, timeout=120)
    assert listed.returncode == 0
    assert "411503\t平桥区人民政府" in listed.stdout.splitlines()


# units -----------------------------------------------------------------------------------

def test_units_lists_code_tab_name(cli_var, capsys):
    assert units.main([CONFIG]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = dict(line.split("\t") for line in lines)
    assert rows["411502"] == "浉河区人民政府"
    assert rows["GAJ"] == "信阳市公安局"
    assert all(len(line.split("\t")) == 2 for line in lines)
    assert len(rows) == len(lines) >= 20


def test_units_sees_units_added_later(cli_var, capsys):
    app, conn, site = opened(cli_var)
    try:
        from casefiles.units import load_units
        with conn.transaction_manager:
            load_units(site.units, [{"code": "XFJ", "name": "信阳市信访局", "kind": "department", "district": ""}])
            site.units["GAJ"].active = False
    finally:
        conn.close()
        close_app(app)
    assert units.main([CONFIG]) == 0
    out = capsys.readouterr().out
    assert "XFJ\t信阳市信访局" in out and "GAJ\t" not in out
    assert units.main([CONFIG, "--all"]) == 0
    assert "GAJ\t信阳市公安局" in capsys.readouterr().out


# import-messages ------------------------------------------------------------------------

HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "一级标签"]
ROWS = [
    ["1001", "U001", "浉河区某小区供暖不足", "2019/2/25 11:30:16",
     "\n\t\t\t\n\t\t\t尊敬的领导：\n小区冬季供暖温度不足16度，\"多次\"反映无果，\t请督促解决。\n\n谢谢！\n", "城乡建设"],
    ["1002", "U002", "建议增开公交线路", "2019/3/1", "学校附近没有公交站，学生上学不便。", "交通运输"],
    ["1003", "U003", "工资被拖欠", "2019/13/45 10:00:00", "工地拖欠工资三个月。", "劳动和社会保障"],
    ["1004", "U004", "", "2019/4/2 08:00:00", "没有主题的留言。", "城乡建设"],
    ["1005", "U005", "医保报销慢", "2020/1/8 9:05:00", "异地就医报销三个月没有到账。", "卫生计生"],
    ["1001", "U001", "浉河区某小区供暖不足", "2019/2/25 11:30:16", "重复提交。", "城乡建设"],
    ["1006", "", "噪音扰民", "2019-06-30 22:10", "夜间施工噪音很大。", "环境保护"],
    ["1007", "U007", "未来的留言", "2999/1/1 10:00:00", "时间错了。", "城乡建设"],
]


def write_csv(path, rows=ROWS, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def imported_cases(var):
    app, conn, site = opened(var)
    try:
        return {c.external_ref: {"subject": c.subject, "content": c.content, "received": c.received_at,
                                 "channel": c.channel, "source": c.online_source, "category": c.category,
                                 "district": c.district, "number": c.number,
                                 "petitioners": [(site.petitioners[pid].name, site.petitioners[pid].anonymous)
                                                 for pid, _p in c.petitioners],
                                 "documents": [d.kind for d in c.documents()]}
                for c in site.cases.all_cases()}
    finally:
        conn.close()
        close_app(app)


def test_import_messages(cli_var, tmp_path, capsys):
    path = write_csv(tmp_path / "messages.csv")
    assert import_messages.main([CONFIG, path, "--batch", "2", "--user-col", "留言用户",
                                 "--district", "浉河区"]) == 0
    captured = capsys.readouterr()
    assert "读取 8 行，导入 4 件，跳过 4 行" in captured.out
    assert "时间不是有效日期: 1" in captured.out
    assert "没有留言主题: 1" in captured.out
    assert "文件中前面已有相同的留言编号: 1" in captured.out
    assert "时间晚于今天或早于 1990 年: 1" in captured.out
    assert "每秒" in captured.out
    # the first bad rows are named on stderr, and the progress bar ran to the end
    assert "第 3 条记录" in captured.err and "2019/13/45" in captured.err
    assert "8/8" in captured.err and "100%" in captured.err

    cases = imported_cases(cli_var)
    assert sorted(cases) == ["1001", "1002", "1005", "1006"]
    first = cases["1001"]
    assert first["channel"] == "online" and first["source"] == "website"
    assert first["received"].isoformat() == "2019-02-25T11:30:16"
    assert first["content"] == "尊敬的领导：\n小区冬季供暖温度不足16度，\"多次\"反映无果，\t请督促解决。\n\n谢谢！"
    assert (first["category"], first["district"]) == ("城乡建设", "浉河区")
    assert first["petitioners"] == [("U001", False)]
    assert first["documents"] == ["online_complaint"]
    assert cases["1002"]["received"].isoformat() == "2019-03-01T00:00:00"
    assert cases["1006"]["received"].isoformat() == "2019-06-30T22:10:00"
    assert cases["1006"]["petitioners"] == [("", True)]     # no user named in that row
    assert first["number"].startswith("XY-2019-")

    # a second run imports nothing and says why
    assert import_messages.main([CONFIG, path, "--user-col", "留言用户", "--district", "浉河区"]) == 0
    out = capsys.readouterr().out
    assert "导入 0 件" in out and "已导入过: 5" in out     # the repeated row too
    assert len(imported_cases(cli_var)) == 4


def test_import_dry_run_writes_nothing(cli_var, tmp_path, capsys):
    path = write_csv(tmp_path / "messages.csv")
    assert import_messages.main([CONFIG, path, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "试运行" in out and "可导入 4 件" in out and "未写入任何数据" in out
    assert imported_cases(cli_var) == {}
    assert import_messages.main([CONFIG, path, "--limit", "2"]) == 0
    assert "读取 2 行，导入 2 件" in capsys.readouterr().out
    assert sorted(imported_cases(cli_var)) == ["1001", "1002"]
    # a dry run knows what is already there
    assert import_messages.main([CONFIG, path, "--dry-run"]) == 0
    assert "可导入 2 件" in capsys.readouterr().out


def test_import_spreads_over_districts_and_prefixes_refs(cli_var, tmp_path, capsys):
    rows = [[str(2000 + i), "", f"留言{i}", "2019/5/1 10:00:00", f"内容{i}", "城乡建设"] for i in range(30)]
    path = write_csv(tmp_path / "many.csv", rows)
    assert import_messages.main([CONFIG, path, "--district-random", "--ref-prefix", "b1-", "--source", "wechat"]) == 0
    cases = imported_cases(cli_var)
    assert len(cases) == 30 and all(ref.startswith("b1-") for ref in cases)
    assert len({c["district"] for c in cases.values()}) >= 5
    assert {c["source"] for c in cases.values()} == {"wechat"}
    # the same ids from another board (prefix) are other messages
    assert import_messages.main([CONFIG, path, "--ref-prefix", "b2-", "--limit", "3"]) == 0
    assert "导入 3 件" in capsys.readouterr().out
    assert len(imported_cases(cli_var)) == 33


def test_import_refuses_missing_columns_and_files(cli_var, tmp_path, capsys):
    path = write_csv(tmp_path / "odd.csv", [["1", "x"]], header=["编号", "内容"])
    assert import_messages.main([CONFIG, path]) == 2
    err = capsys.readouterr().err
    assert "留言编号" in err and "编号、内容" in err
    assert import_messages.main([CONFIG, str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err
    path = write_csv(tmp_path / "ok.csv")
    assert import_messages.main([CONFIG, path, "--category-col", "分类"]) == 2
    assert "分类" in capsys.readouterr().err


def test_import_short_and_long_rows(cli_var, tmp_path, capsys):
    path = tmp_path / "ragged.csv"
    path.write_text("留言编号,留言主题,留言时间,留言详情\n"
                    "1,主题一,2019/1/2,内容一\n"
                    "2,主题二\n"
                    "3,主题三,2019/1/3,内容三,多出来的列\n"
                    "4,主题四,2019/1/4,内容四\n", encoding="utf-8")
    assert import_messages.main([CONFIG, str(path)]) == 0
    out = capsys.readouterr().out
    assert "导入 2 件" in out and "该行的列数不对: 2" in out
    assert sorted(imported_cases(cli_var)) == ["1", "4"]


def test_parse_time():
    from cli.import_messages import parse_time
    assert parse_time("2019/2/25 11:30:16").isoformat() == "2019-02-25T11:30:16"
    assert parse_time(" 2019/2/25 ").isoformat() == "2019-02-25T00:00:00"
    assert parse_time("2019-02-25 9:05").isoformat() == "2019-02-25T09:05:00"
    assert parse_time("2019年2月25日").isoformat() == "2019-02-25T00:00:00"
    for bad in ("", "2019/2/30", "25/2/2019", "2019/2/25 25:00:00", "昨天"):
        assert parse_time(bad) is None, bad


def test_progress_bar_shows_done_total_rate_and_eta():
    from cli import Progress
    clock = iter([0.0] + [float(i) for i in range(1, 100)])
    stream = io.StringIO()
    with Progress(40, "导入", stream=stream, clock=lambda: next(clock)) as bar:
        for _ in range(40):
            bar.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11                       # every tenth of the way, not every row
    assert lines[4].startswith("导入 [############------------------] 16/40  40% 1.0/s ETA 24s")
    assert "40/40 100%" in lines[-1]


def test_what_a_script_changes_is_in_the_audit_trail(cli_var, monkeypatch):
    """Scripts change the database as requests do: adduser is recorded as the operating-system
    user who ran it, and the chain stays intact."""
    from casefiles import audit as A
    stdin(monkeypatch, "a-long-password\n")
    assert adduser.main([CONFIG, "zhao", "--role", "auditor"]) == 0
    log = A.AuditLog(str(cli_var / "audit"))
    entries = [e for e, _raw in log.entries() if e["action"] == "user.create"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["user"].startswith("cli:") and entry["address"] == "local"
    assert entry["detail"]["username"] == "zhao" and entry["detail"]["roles"] == ["auditor"]
    assert A.verify(log).ok
