"""Closed-loop API (/api/v1/cases, /api/v1/categories), on the same services as the pages.

POST bodies may be JSON (photos as base64 strings) or multipart/form-data (photos as files,
`attributes` as a JSON string or `attribute[code]` fields). Errors are
{"code", "message", "details"} with 400 (field errors in Chinese), 403, 404, 409.

A package: `base` (the router), `parsing` (request bodies), `serializers` (response shapes),
and the endpoints by concern — `reading` (categories, lists, detail, photos), `reporting`
(上报, 我也遇到), `handling` (transitions, the description reveal). `shequ.api` mounts
`router` at `API_PREFIX`; importing the endpoint modules here registers their operations.
"""

from shequ.cases.api.base import MAX_PAGE, MAX_PAGE_SIZE, router
from shequ.cases.api.handling import case_description_reveal, case_transition
from shequ.cases.api.parsing import ACTIONS, CaseIn, TransitionIn
from shequ.cases.api.reading import case_get, case_list, case_photo, category_list, duplicate_list
from shequ.cases.api.reporting import case_create, case_follow
from shequ.cases.api.serializers import CaseDetail, CaseItem, detail

API_PREFIX = "/"

__all__ = [
    "ACTIONS",
    "API_PREFIX",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "CaseDetail",
    "CaseIn",
    "CaseItem",
    "TransitionIn",
    "case_create",
    "case_description_reveal",
    "case_follow",
    "case_get",
    "case_list",
    "case_photo",
    "case_transition",
    "category_list",
    "detail",
    "duplicate_list",
    "router",
]
