"""The catalogue of bad inputs, shared by the library and the CLI tests.

Each case is a file that must be refused with exit 1, a message that says where (file, line,
record, column) and what, and no change to the database. The workspace holds accounts A1, A2
and users U1 (of A1), U2 (of A2) when the file is loaded.
"""

from __future__ import annotations

import codecs
from typing import Any

USAGE = "date,account_id,user_id,feature,events\n"

# id: (kind, file content, fragments the error must contain, including the location)
BAD_INPUTS: dict[str, tuple[str, str | bytes, list[str]]] = {
    "wrong_encoding": (
        "accounts",
        b"account_id,name\nA3,Gamma\nA4,Caf\xe9\n",
        [
            "accounts.csv: line 3: bytes that are not valid utf-8 (b'\\xe9') at character 7 of "
            "the line (byte 32 of the file)",
            "--encoding cp1252",
        ],
    ),
    "bad_byte_after_a_bom": (
        "accounts",
        b"\xef\xbb\xbfaccount_id,name\nA3,Caf\xe9\n",
        [
            "accounts.csv: line 2: bytes that are not valid utf-8 (b'\\xe9') at character 7 of "
            "the line (byte 26 of the file)"
        ],
    ),
    "bad_byte_in_the_header_after_a_bom": (
        "accounts",
        b"\xef\xbb\xbfaccount_id,n\xe4me\nA3,Gamma\n",
        [
            "accounts.csv: line 1: bytes that are not valid utf-8 (b'\\xe4') at character 13 of "
            "the line (byte 16 of the file)"
        ],
    ),
    "utf16_without_the_flag": (
        "accounts",
        "account_id,name\nA3,Zoë\n".encode("utf-16"),
        [
            "accounts.csv: line 1: the file starts with a UTF-16 byte order mark, so it is not "
            "utf-8 text",
            "hint: pass --encoding utf-16",
        ],
    ),
    "utf16_without_bom_or_flag": (
        "accounts",
        "account_id,name\nA3,Zoë\n".encode("utf-16-le"),
        [
            "accounts.csv: line 1: the file contains a NUL byte, so it is not a text CSV "
            "(it looks like UTF-16 text)",
            "hint: pass --encoding utf-16",
        ],
    ),
    "truncated_character": (
        "accounts",
        b"account_id,name\nA3,Caf\xc3",
        ["accounts.csv: line 2: the file ends in the middle of a utf-8 character"],
    ),
    "nul_byte": (
        "accounts",
        b"account_id,name\nA3,Gamma\nA4,Ca\x00fe\n",
        ["accounts.csv: line 3: the file contains a NUL byte"],
    ),
    "too_many_fields": (
        "accounts",
        "account_id,name\nA3,Gamma\nA4,Delta,extra\n",
        ["accounts.csv: line 3 (record 2): has 3 fields, the header has 2"],
    ),
    "too_few_fields": (
        "accounts",
        "account_id,name,csm\nA3,Gamma,Kim\nA4\n",
        ["accounts.csv: line 3 (record 2): has 1 field, the header has 3"],
    ),
    "duplicate_header": (
        "accounts",
        "account_id,name,name\nA3,Gamma,G\n",
        ["accounts.csv: line 1, column name: duplicate header 'name' (fields 2 and 3)"],
    ),
    "empty_header": (
        "accounts",
        "account_id,,name\nA3,x,Gamma\n",
        ["accounts.csv: line 1: header field 2 is empty"],
    ),
    "duplicate_header_in_another_case": (
        "accounts",
        "account_id,Name,name\nA3,Gamma,G\n",
        [
            "accounts.csv: line 1, column name: duplicate header 'name' (fields 2 and 3; "
            "field 2 is 'Name')"
        ],
    ),
    "duplicate_extra_header_in_another_case": (
        "accounts",
        "account_id,name,Tier, tier \nA3,Gamma,Gold,Silver\n",
        ["accounts.csv: line 1, column tier: duplicate header 'tier' (fields 3 and 4; "],
    ),
    "value_under_a_trailing_empty_header": (
        "accounts",
        "account_id,name,\nA3,Gamma,\nA4,Delta,x\nA5,Epsilon, \n",
        ["accounts.csv: line 3 (record 2): field 3 holds 'x', but its header is empty"],
    ),
    "row_without_the_trailing_comma": (
        "accounts",
        "account_id,name,,\nA3,Gamma,,\nA4,Delta\n",
        ["accounts.csv: line 3 (record 2): has 2 fields, the header has 4 (the last 2 empty)"],
    ),
    "semicolon_separated": (
        "accounts",
        "account_id;name;arr\nA3;Gamma;1.200,50\n",
        [
            "accounts.csv: line 1: missing required columns: account_id, name",
            "hint: the header looks semicolon-separated: pass --delimiter ';', or set "
            'exports.accounts.delimiter: ";" in cstool.yaml; if numbers read like 1.200,50, also '
            "set decimal: ',' and thousands: '.'",
        ],
    ),
    "tab_separated": (
        "accounts",
        "account_id\tname\nA3\tGamma\n",
        [
            "accounts.csv: line 1: missing required columns: account_id, name",
            "hint: the header looks tab-separated: pass --delimiter tab, or set "
            'exports.accounts.delimiter: "tab" in cstool.yaml',
        ],
    ),
    "decimal_comma_number": (
        "accounts",
        'account_id,name,arr\nA3,Gamma,"1.200,50"\nA4,Delta,"7,5"\n',
        [
            "accounts.csv: line 2 (record 1), column arr: '1.200,50' is not a number",
            "hint: if the file writes numbers like 1.200,50, set decimal: ',' and thousands: '.' "
            "under exports.accounts in cstool.yaml",
        ],
    ),
    "thousands_comma_number": (
        "accounts",
        'account_id,name,licenses_purchased\nA3,Gamma,"1,200"\n',
        [
            "accounts.csv: line 2 (record 1), column licenses_purchased: '1,200' is not a whole "
            "number",
            "hint: if the file writes numbers like 1,200, set thousands: ',' under "
            "exports.accounts in cstool.yaml",
        ],
    ),
    "date_in_another_format": (
        "accounts",
        "account_id,name,renewal_date\nA3,Gamma,12/31/2026\nA4,Delta,01/02/2026\n",
        [
            "accounts.csv: line 2 (record 1), column renewal_date: '12/31/2026' is not a date in "
            "the format %Y-%m-%d",
            "hint: the renewal_date values look like %m/%d/%Y, not %Y-%m-%d: set "
            "exports.accounts.date_formats: {renewal_date: '%m/%d/%Y'} in cstool.yaml",
        ],
    ),
    "missing_required_column": (
        "accounts",
        "account_id,industry\nA3,Retail\n",
        ["accounts.csv: line 1: missing required column: name", "exports.accounts.columns"],
    ),
    "duplicate_key": (
        "accounts",
        "account_id,name\nA3,Gamma\nA3,Gamma again\n",
        [
            "accounts.csv: line 3 (record 2), column account_id: "
            "duplicate key 'A3'; first seen at record 1"
        ],
    ),
    "missing_value": (
        "accounts",
        "account_id,name\nA3,   \n",
        ["accounts.csv: line 2 (record 1), column name: a value is required"],
    ),
    "bad_date": (
        "accounts",
        "account_id,name,renewal_date\nA3,Gamma,2026-02-30\n",
        [
            "accounts.csv: line 2 (record 1), column renewal_date: "
            "'2026-02-30' is not a date in the format %Y-%m-%d"
        ],
    ),
    "bad_number": (
        "accounts",
        "account_id,name,arr\nA3,Gamma,12k\n",
        ["accounts.csv: line 2 (record 1), column arr: '12k' is not a number"],
    ),
    "bad_whole_number": (
        "accounts",
        "account_id,name,licenses_purchased\nA3,Gamma,1.5\n",
        ["accounts.csv: line 2 (record 1), column licenses_purchased: '1.5' is not a whole number"],
    ),
    "negative_licenses": (
        "accounts",
        "account_id,name,licenses_purchased\nA3,Gamma,-3\n",
        ["accounts.csv: line 2 (record 1), column licenses_purchased: '-3' is below the minimum 0"],
    ),
    "negative_events": (
        "usage",
        USAGE + "2026-01-05,A1,U1,reports,-2\n",
        ["usage.csv: line 2 (record 1), column events: '-2' is below the minimum 0"],
    ),
    "bad_boolean": (
        "users",
        "user_id,account_id,is_advocate\nU3,A1,maybe\n",
        [
            "users.csv: line 2 (record 1), column is_advocate: "
            "'maybe' is not true/false, yes/no, y/n, t/f or 1/0"
        ],
    ),
    "above_maximum": (
        "nps",
        "response_id,date,account_id,score\nR1,2026-01-05,A1,11\n",
        ["nps.csv: line 2 (record 1), column score: '11' is above the maximum 10"],
    ),
    "not_a_choice": (
        "activities",
        "activity_id,account_id,date,type\nX1,A1,2026-01-05,lunch\n",
        ["activities.csv: line 2 (record 1), column type: 'lunch' is not one of call, meeting"],
    ),
    "bad_timestamp": (
        "email_events",
        "message_id,event,timestamp,url\nm1,open,yesterday,\n",
        [
            "email_events.csv: line 2 (record 1), column timestamp: "
            "'yesterday' is not a date in the format ISO 8601 date and time"
        ],
    ),
    "unknown_account": (
        "users",
        "user_id,account_id\nU3,A9\n",
        ["users.csv: line 2 (record 1), column account_id: account_id 'A9' is not a known account"],
    ),
    "unknown_user": (
        "usage",
        USAGE + "2026-01-05,A1,U9,reports,1\n",
        ["usage.csv: line 2 (record 1), column user_id: user_id 'U9' is not a known user"],
    ),
    "wrong_account_for_user": (
        "usage",
        USAGE + "2026-01-05,A2,U1,reports,1\n",
        [
            "usage.csv: line 2 (record 1), column account_id: "
            "account_id 'A2' is not the account of user 'U1' ('A1')"
        ],
    ),
    "usage_duplicate_key": (
        "usage",
        USAGE + "2026-01-05,A1,U1,reports,1\n2026-01-05,A1,U1,reports,2\n",
        [
            "usage.csv: line 3 (record 2), column date, user_id, feature: "
            "duplicate key (date, user_id, feature); first seen at record 1"
        ],
    ),
    # One pass finds every problem: a row that broke one rule is still checked for the others.
    "bad_row_still_checked_for_duplicates": (
        "accounts",
        "account_id,name,arr\nA3,Gamma,x\nA3,Gamma again,1\n",
        [
            "2 problems in accounts.csv",
            "accounts.csv: line 2 (record 1), column arr: 'x' is not a number (account 'A3')",
            "accounts.csv: line 3 (record 2), column account_id: duplicate key 'A3'; first seen "
            "at record 1",
        ],
    ),
    "bad_row_still_checked_for_references": (
        "users",
        "user_id,account_id,is_advocate\nU3,A9,maybe\n",
        [
            "2 problems in users.csv",
            "users.csv: line 2 (record 1), column is_advocate: 'maybe' is not true/false, yes/no, "
            "y/n, t/f or 1/0 (user 'U3')",
            "users.csv: line 2 (record 1), column account_id: account_id 'A9' is not a known "
            "account (user 'U3')",
        ],
    ),
    "usage_bad_row_still_checked_for_users": (
        "usage",
        USAGE + "2026-01-05,A1,U9,reports,-2\n",
        [
            "2 problems in usage.csv",
            "usage.csv: line 2 (record 1), column events: '-2' is below the minimum 0 (user 'U9')",
            "usage.csv: line 2 (record 1), column user_id: user_id 'U9' is not a known user",
        ],
    ),
    "usage_bad_row_still_checked_for_duplicates": (
        "usage",
        USAGE + "2026-01-05,A2,U1,reports,x\n2026-01-05,A1,U1,reports,2\n",
        [
            "3 problems in usage.csv",
            "usage.csv: line 2 (record 1), column events: 'x' is not a whole number (user 'U1')",
            "usage.csv: line 2 (record 1), column account_id: account_id 'A2' is not the account "
            "of user 'U1' ('A1')",
            "usage.csv: line 3 (record 2), column date, user_id, feature: duplicate key (date, "
            "user_id, feature); first seen at record 1 (user 'U1')",
        ],
    ),
    "usage_bad_date_still_checked_for_accounts": (
        "usage",
        USAGE + "2026-13-01,A2,U1,reports,1\n",
        [
            "usage.csv: line 2 (record 1), column date: '2026-13-01' is not a date in the format "
            "%Y-%m-%d (user 'U1')",
            "usage.csv: line 2 (record 1), column account_id: account_id 'A2' is not the account "
            "of user 'U1' ('A1')",
        ],
    ),
    # Messages name the file's own header and whom the row is about.
    "header_in_another_case_is_named": (
        "accounts",
        "Account_ID,Name,ARR\nA3,Gamma,x\nA3,Gamma,1\n",
        [
            "accounts.csv: line 2 (record 1), column ARR (arr): 'x' is not a number (account 'A3')",
            "accounts.csv: line 3 (record 2), column Account_ID (account_id): duplicate key 'A3'",
        ],
    ),
    "nps_row_names_its_user_else_its_account": (
        "nps",
        "response_id,date,account_id,user_id,score\nR1,2026-01-05,A1,U1,11\nR2,2026-01-05,A2,,-1\n",
        [
            "nps.csv: line 2 (record 1), column score: '11' is above the maximum 10 (user 'U1')",
            "nps.csv: line 3 (record 2), column score: '-1' is below the minimum 0 (account 'A2')",
        ],
    ),
    "empty_file": ("accounts", b"", ["accounts.csv: the file is empty"]),
    "header_only": (
        "accounts",
        "account_id,name\n",
        ["accounts.csv: line 2: the file has a header but no rows"],
    ),
    "unclosed_quote": (
        "accounts",
        'account_id,name\nA3,Gamma\nA4,"Delta\nA5,Epsilon\n',
        ["accounts.csv: line 3: a quoted field that starts on this line is never closed"],
    ),
    "blank_lines_before_bad_row": (
        "accounts",
        "account_id,name,arr\nA3,Gamma,1\n\n\r\nA4,Delta,x\n",
        ["accounts.csv: line 5 (record 2), column arr: 'x' is not a number"],
    ),
    "newline_in_field_before_bad_row": (
        "accounts",
        'account_id,name\nA3,"Gamma\nCorp"\nA4,Delta\nA5,"Epsilon\n\nInc"\n,Nameless\n',
        ["accounts.csv: line 8 (record 4), column account_id: a value is required"],
    ),
}


def utf16(text: str, encoding: str = "utf-16") -> bytes:
    """``text`` as a UTF-16 file: with a byte order mark for 'utf-16', without for -le/-be."""
    return text.encode(encoding)


# Cases read with settings: ``flags`` are load options (the CLI's --encoding, --delimiter),
# ``exports`` is the kind's section of cstool.yaml.
# id: (kind, file content, settings, fragments the error must contain)
BAD_INPUTS_WITH_SETTINGS: dict[str, tuple[str, str | bytes, dict[str, Any], list[str]]] = {
    "comma_separated_read_with_semicolons": (
        "accounts",
        "account_id,name\nA3,Gamma\n",
        {"exports": {"delimiter": ";"}},
        [
            "accounts.csv: line 1: missing required columns: account_id, name",
            "hint: the header looks comma-separated: pass --delimiter ',', or set "
            'exports.accounts.delimiter: "," in cstool.yaml',
        ],
    ),
    "semicolons_with_a_bad_value": (
        "accounts",
        'account_id;name;arr\nA3;"Gamma; Inc";1.200,50\n\nA4;Delta;1,2,3\n',
        {"flags": {"delimiter": ";"}, "exports": {"decimal": ",", "thousands": "."}},
        [
            "accounts.csv: line 4 (record 2), column arr: '1,2,3' is not a number written "
            "with decimal mark ',' and thousands '.'"
        ],
    ),
    "tab_separated_with_too_many_fields": (
        "accounts",
        "account_id\tname\nA3\tGamma\nA4\tDelta\tsurplus\n",
        {"flags": {"delimiter": "tab"}},
        ["accounts.csv: line 3 (record 2): has 3 fields, the header has 2"],
    ),
    "badly_grouped_thousands": (
        "accounts",
        'account_id,name,licenses_purchased\nA3,Gamma,"1,200"\nA4,Delta,"12,00"\n',
        {"exports": {"thousands": ","}},
        [
            "accounts.csv: line 3 (record 2), column licenses_purchased: '12,00' is not a whole "
            "number written with decimal mark '.' and thousands ','"
        ],
    ),
    "renamed_header_is_named": (
        "accounts",
        "account_id,name,Licenses\nA3,Gamma,-3\n",
        {"exports": {"columns": {"Licenses": "licenses_purchased"}}},
        [
            "accounts.csv: line 2 (record 1), column Licenses (licenses_purchased): '-3' is below "
            "the minimum 0 (account 'A3')"
        ],
    ),
    "date_format_already_set": (
        "accounts",
        "account_id,name,renewal_date\nA3,Gamma,2026-12-31\n",
        {"exports": {"date_formats": {"renewal_date": "%m/%d/%Y"}}},
        [
            "column renewal_date: '2026-12-31' is not a date in the format %m/%d/%Y",
            "hint: the renewal_date values look like %Y-%m-%d, not %m/%d/%Y: set "
            "exports.accounts.date_formats: {renewal_date: '%Y-%m-%d'}",
        ],
    ),
    "unreadable_date_names_no_format": (
        "accounts",
        "account_id,name,renewal_date\nA3,Gamma,soon\n",
        {"exports": {"date_formats": {"renewal_date": "%m/%d/%Y"}}},
        [
            "hint: if the file writes renewal_date another way than %m/%d/%Y, set its format "
            "under exports.accounts.date_formats in cstool.yaml"
        ],
    ),
    "utf16_bad_value_after_a_multiline_field": (
        "accounts",
        utf16('account_id,name,arr\nA3,"Zoë\nCorp",1\nA4,東京,x\n'),
        {"flags": {"encoding": "utf-16"}},
        ["accounts.csv: line 4 (record 2), column arr: 'x' is not a number"],
    ),
    "utf16_wrong_byte_order": (
        "accounts",
        utf16("account_id,name\nA3,Zoë\n", "utf-16-be"),
        {"flags": {"encoding": "utf-16-le"}},
        [
            "accounts.csv: line 1: the file looks like utf-16-be text",
            "hint: pass --encoding utf-16-be",
        ],
    ),
    "utf16_byte_order_mark_disagrees": (
        "accounts",
        utf16("account_id,name\nA3,Zoë\n"),
        {"flags": {"encoding": "utf-16-be"}},
        [
            "accounts.csv: line 1: the file's byte order mark says utf-16-le, not utf-16-be",
            "hint: pass --encoding utf-16, which follows the mark",
        ],
    ),
    "utf16_nul_character": (
        "accounts",
        utf16("account_id,name\nA3,Zo\x00ë\n"),
        {"flags": {"encoding": "utf-16"}},
        [
            "accounts.csv: line 2: the file contains a NUL character, so it is not a text CSV",
            "hint: export the file again as CSV text",
        ],
    ),
    "utf16_truncated": (
        "accounts",
        utf16("account_id,name\nA3,Zoë\n")[:-1],
        {"flags": {"encoding": "utf-16"}},
        ["accounts.csv: line 2: the file ends in the middle of a utf-16 character"],
    ),
    "utf16_lone_surrogate": (
        "accounts",
        codecs.BOM_UTF16_LE + utf16("account_id,name\nA3,", "utf-16-le") + b"\x00\xdc\n\x00",
        {"flags": {"encoding": "utf-16"}},
        [
            "accounts.csv: line 2: bytes that are not valid utf-16 (b'\\x00\\xdc') at character "
            "4 of the line (byte 41 of the file)",
            "--encoding utf-16-be",
        ],
    ),
}
