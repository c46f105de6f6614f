"""The bureau's clock: every date and time the system records is Asia/Shanghai local time,
stored naive, whatever time zone the server runs in."""
import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now():
    return datetime.datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def today():
    return now().date()
