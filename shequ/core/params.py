"""Parameter types of the JSON API that keep extreme values out of the database and calendar.

`ApiDate` is a date between 1900-01-01 and 2999-12-31. Python's dates reach 0001–9999, but
0001-01-01 at midnight in Asia/Shanghai is before the first UTC instant Python can hold and
9999-12-31 has no next day (both raised OverflowError, a 500, in date filters). A date outside
the range is a validation error of type `date_out_of_range`, answered as 400 `invalid_date`.
"""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


def _date_in_range(value: dt.date) -> dt.date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range",
            "date must be between {earliest} and {latest}",
            {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
        )
    return value


ApiDate = Annotated[dt.date, AfterValidator(_date_in_range)]
