"""The bureau's clock: every date and time the system records is Asia/Shanghai local time,
stored naive, whatever time zone the server runs in."""
import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now(precise=False):
    """Local time, to the second (what records show) or ``precise`` (expiry checks)."""
    moment = datetime.datetime.now(SHANGHAI).replace(tzinfo=None)
    return moment if precise else moment.replace(microsecond=0)


def today():
    return now().date()
