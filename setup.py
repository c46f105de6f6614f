"""Packaging for the petition case-file and archive system."""
from setuptools import setup

requires = [
    "pyramid>=2.0",
    "pyramid_tm",
    "pyramid_retry",
    "pyramid_zodbconn",
    "pyramid_jinja2",
    "zodburi",
    "ZODB>=6",
    "ZEO",
    "BTrees",
    "transaction",
    "hypatia",
    "waitress",
    "multipart>=1.2",    # multipart bodies parsed as they arrive, file parts straight into blobs
    "Babel",
    "argon2-cffi",
    "filetype",
    "chinesecalendar",
    "Whoosh",
    "jieba",
    "reportlab",
    "rl-accel",          # ReportLab's C accelerator: notices render twice as fast
    "pypdf",
    "Pillow",            # image headers read at filing (pixel limit), scans in dossiers
    "lxml",
    "bagit",
    "tzdata",            # Asia/Shanghai on machines without a system zoneinfo
]

tests_require = [
    "pytest",
    "pytest-xdist",
    "WebTest",
    "playwright",
    "hypothesis",
]

setup(
    name="casefiles",
    version="0.1.0",
    description="Case files and archive for a city petitions bureau (信访局)",
    long_description=open("README.md", encoding="utf-8").read(),
    python_requires=">=3.11",
    packages=["casefiles", "views", "indexing", "archive", "templates", "cli"],
    include_package_data=True,
    package_data={
        "casefiles": ["data/*", "data/*/*"],
        "indexing": ["data/*"],
        "views": ["static/*", "static/*/*", "locale/*/LC_MESSAGES/*"],
        "templates": ["*.jinja2", "*/*.jinja2"],
        "archive": ["data/*"],
    },
    zip_safe=False,
    install_requires=requires,
    # bench: the search benchmark's baselines (benchmarks/bench_search.py), not needed to run
    extras_require={"test": tests_require, "bench": ["tantivy"]},
    entry_points={
        "paste.app_factory": ["main = views:main"],
        "console_scripts": [
            "casefiles-adduser = cli.adduser:main",
            "casefiles-units = cli.units:main",
            "casefiles-import-messages = cli.import_messages:main",
            "casefiles-demo = cli.demo:main",
            "casefiles-reindex = cli.reindex:main",
            "casefiles-ocr = cli.ocr:main",
            "casefiles-archive = cli.archive:main",
            "casefiles-audit = cli.audit:main",
        ],
    },
)
