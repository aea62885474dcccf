"""Words of the web pages, Vietnamese first, English on request (``?lang=en`` or the `lang` cookie).

Error messages that also travel over MQTT live in appliance/i18n.py; these are page labels.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Literal

from appliance.i18n import ACTION_LABELS, STATUS_LABELS, label

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
# Every word table of the web pages: key → (Vietnamese, English).
WordTable = dict[str, tuple[str, str]]

# key: (Vietnamese, English)
TEXTS: WordTable = {
    # Frame
    "app_title": ("Hệ thống xếp hàng một cửa", "One-stop shop queue system"),
    "lang_switch": ("English", "Tiếng Việt"),
    "home": ("Trang chủ", "Home"),
    "login": ("Đăng nhập", "Log in"),
    "logout": ("Đăng xuất", "Log out"),
    "logged_in_as": ("Cán bộ: {name}", "Officer: {name}"),
    "username": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "login_title": ("Đăng nhập cán bộ", "Officer login"),
    "login_hint": (
        "Tài khoản do quản trị viên cấp. Không có mật khẩu mặc định.",
        "Accounts are given by the administrator. There is no default password.",
    ),
    "too_many_logins": (
        "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút.",
        "Too many failed logins. Try again in {minutes} minutes.",
    ),
    "temporary_password": (
        "Bạn đang dùng mật khẩu tạm thời. Hãy đổi mật khẩu.",
        "You are using a temporary password. Please change it.",
    ),
    "change_password": ("Đổi mật khẩu", "Change password"),
    "current_password": ("Mật khẩu hiện tại", "Current password"),
    "new_password": ("Mật khẩu mới (ít nhất {length} ký tự)", "New password (at least {length} characters)"),
    "repeat_password": ("Nhập lại mật khẩu mới", "Repeat the new password"),
    "password_changed": ("Đã đổi mật khẩu.", "Password changed."),
    "password_mismatch": ("Hai mật khẩu mới không giống nhau.", "The two new passwords differ."),
    "password_too_short": (
        "Mật khẩu mới phải có ít nhất {length} ký tự.",
        "The new password must have at least {length} characters.",
    ),
    "wrong_current_password": ("Mật khẩu hiện tại không đúng.", "The current password is wrong."),
    "save": ("Lưu", "Save"),
    # Landing
    "landing_intro": (
        "Bộ phận tiếp nhận và trả kết quả — màn hình quản lý hàng đợi.",
        "Reception and results desk — queue management.",
    ),
    "counters": ("Quầy", "Counters"),
    "counter": ("Quầy", "Counter"),
    "counter_title": ("Quầy {name}", "Counter {name}"),
    "services": ("Lĩnh vực", "Services"),
    "service": ("Lĩnh vực", "Service"),
    "open_console": ("Mở màn hình quầy", "Open the counter console"),
    "stats": ("Thống kê", "Statistics"),
    "admin": ("Quản trị", "Administration"),
    "devices": ("Thiết bị", "Devices"),
    "waiting": ("Đang chờ", "Waiting"),
    "serving": ("Đang phục vụ", "Serving"),
    "open": ("Mở", "Open"),
    "closed": ("Đóng", "Closed"),
    "estimated_wait": ("Thời gian chờ dự kiến", "Estimated wait"),
    "minutes_short": ("{minutes} phút", "{minutes} min"),
    "under_a_minute": ("dưới 1 phút", "under 1 min"),
    "none": ("—", "—"),
    # Console
    "now_serving": ("Số đang phục vụ", "Now serving"),
    "no_one_called": ("Chưa gọi số nào", "No one called yet"),
    "counter_is_closed": ("Quầy đang đóng", "Counter is closed"),
    "call_next": ("Gọi số tiếp theo", "Call next"),
    "recall": ("Gọi lại", "Recall"),
    "skip": ("Vắng mặt", "No-show"),
    "transfer": ("Chuyển", "Transfer"),
    "transfer_to": ("Chuyển sang lĩnh vực", "Transfer to service"),
    "choose_service": ("— chọn lĩnh vực —", "— choose a service —"),
    "complete": ("Hoàn thành", "Complete"),
    "start": ("Bắt đầu phục vụ", "Start serving"),
    "open_counter": ("Mở quầy", "Open counter"),
    "close_counter": ("Đóng quầy", "Close counter"),
    "reinstate": ("Khôi phục", "Reinstate"),
    "skipped_tickets": ("Số vắng mặt", "No-shows"),
    "recent_tickets": ("Số vừa phục vụ", "Recent tickets"),
    "waiting_per_service": ("Người chờ theo lĩnh vực", "Waiting per service"),
    "people": ("{count} người", "{count} people"),
    "issued_at": ("Lấy số lúc", "Issued at"),
    "called_at": ("Gọi lúc", "Called at"),
    "priority": ("Ưu tiên", "Priority"),
    "shortcuts": (
        "Phím tắt: N gọi tiếp · L gọi lại · V vắng mặt · C chuyển · H hoàn thành",
        "Shortcuts: N next · L recall · V no-show · C transfer · H complete",
    ),
    "live": ("Trực tuyến", "Live"),
    "offline": ("Mất kết nối — đang thử lại…", "Disconnected — retrying…"),
    "empty_list": ("Chưa có", "None yet"),
    "dismiss": ("Đóng", "Dismiss"),
    "done_called": ("Đã gọi số {number}", "Called {number}"),
    "numbers_out": (
        "Dịch vụ “{service}” đã hết số trong ngày (khối {first}–{last}): ki-ốt và điện thoại không lấy "
        "thêm được số. Trưởng bộ phận mở rộng khối số trong cấu hình điểm.",
        "Service “{service}” has run out of numbers today ({first}–{last}): kiosks and phones cannot take "
        "more. The head of the office widens the block in the site configuration.",
    ),
    "numbers_low": (
        "Dịch vụ “{service}” chỉ còn {left} số trong ngày (khối {first}–{last}).",
        "Service “{service}” has only {left} numbers left today ({first}–{last}).",
    ),
    "not_assigned": ("Bạn không được phân công ở quầy nào.", "You are not assigned to any counter."),
    # Console: "In phiếu tiếp nhận" (the counter's printer, data from central)
    "receipt_title": ("Phiếu tiếp nhận hồ sơ", "Dossier receipt"),
    "receipt_code": ("Mã hồ sơ", "Dossier code"),
    "receipt_placeholder": ("Gõ hoặc quét mã hồ sơ", "Type or scan the dossier code"),
    "receipt_print": ("In phiếu tiếp nhận", "Print the receipt"),
    "receipt_hint": (
        "Quét mã bằng đầu đọc hoặc gõ mã rồi nhấn Enter.",
        "Scan the code with the reader, or type it and press Enter.",
    ),
    "receipt_sent": (
        "Đã gửi phiếu tiếp nhận hồ sơ {code} tới máy in",
        "The receipt of dossier {code} was sent to the printer",
    ),
    "receipt_waiting": (
        "Máy in chưa sẵn sàng: phiếu tiếp nhận hồ sơ {code} đang chờ và sẽ được in khi máy in sẵn sàng.",
        "The printer is not ready: the receipt of dossier {code} waits and prints once the printer is ready.",
    ),
    "receipt_code_missing": ("Hãy gõ hoặc quét mã hồ sơ.", "Type or scan the dossier code."),
    "receipt_missing": (
        "Chức năng in phiếu tiếp nhận chưa có ở điểm này.",
        "Printing dossier receipts is not available at this site.",
    ),
    # Public ticket page
    "ticket_title": ("Phiếu số {number}", "Ticket {number}"),
    "your_number": ("Số thứ tự của bạn", "Your number"),
    "people_ahead": ("Số người phía trước", "People ahead"),
    "your_turn": ("Đã đến lượt — mời đến quầy {counter}", "It is your turn — please go to counter {counter}"),
    "status": ("Trạng thái", "Status"),
    "ticket_ongoing": ("Trang này tự cập nhật.", "This page updates itself."),
    "ticket_not_found": ("Không tìm thấy phiếu này", "This ticket was not found"),
    "ticket_not_found_detail": (
        "Đường dẫn không đúng hoặc phiếu đã hết hạn. Hãy kiểm tra lại mã QR trên phiếu.",
        "The link is wrong or the ticket has expired. Check the QR code on your ticket.",
    ),
    # Admin
    "officers": ("Cán bộ", "Officers"),
    "name": ("Họ tên", "Name"),
    "title_name": ("Tên", "Name"),
    "role": ("Vai trò", "Role"),
    "role_admin": ("Quản trị", "Administrator"),
    "role_officer": ("Cán bộ", "Officer"),
    "reset_password": ("Cấp lại mật khẩu", "Reset password"),
    "new_one_time_password": (
        "Mật khẩu tạm thời mới của {username}: {password} — chỉ hiện một lần.",
        "New temporary password of {username}: {password} — shown once only.",
    ),
    "password_state": ("Mật khẩu", "Password"),
    "password_temporary": ("tạm thời", "temporary"),
    "password_own": ("đã đặt", "set"),
    "id": ("Mã", "ID"),
    "name_en": ("Tên tiếng Anh", "English name"),
    # Admin: the central one-door system (hub.central)
    "central_title": ("Hệ thống một cửa điện tử", "Central one-stop-shop system"),
    "central_adapter": ("Kiểu kết nối", "Adapter"),
    "central_adapter_opencps": ("OpenCPS (REST)", "OpenCPS (REST)"),
    "central_adapter_webhook": ("Webhook (JSON có chữ ký)", "Webhook (signed JSON)"),
    "central_adapter_none": ("Không kết nối", "Not connected"),
    "central_base_url": ("Địa chỉ", "Base URL"),
    "central_relay": ("Gửi sự kiện lên hệ thống", "Events sent to central"),
    "central_relay_off": ("Không gửi (deliver = false)", "Off (deliver = false)"),
    "central_backlog": ("Sự kiện chờ gửi", "Events waiting to be sent"),
    "central_oldest": ("Sự kiện chờ lâu nhất", "Oldest undelivered event"),
    "central_dead_letters": ("Bị từ chối, không gửi lại", "Refused, not retried"),
    "central_delivered": ("Đã gửi từ khi khởi động", "Delivered since start"),
    "central_breaker": ("Trạng thái đường truyền", "Link state"),
    "central_lookup_breaker": ("Tra cứu hồ sơ", "Dossier lookups"),
    "central_breaker_closed": ("Bình thường", "Normal"),
    "central_breaker_open": ("Tạm ngừng — đang chờ thử lại", "Paused — waiting to retry"),
    "central_breaker_half_open": ("Đang thử kết nối lại", "Trying to reconnect"),
    "central_last_error": ("Lỗi gần nhất", "Last error"),
    "central_catalogue": ("Danh mục thủ tục", "Procedure catalogue"),
    "central_procedures": ("Số thủ tục", "Procedures"),
    "central_synced": ("Đồng bộ lần cuối", "Last synchronised"),
    "central_never_synced": ("Chưa đồng bộ lần nào", "Never synchronised"),
    "central_sync_error": ("Lỗi đồng bộ: {error}", "Synchronisation failed: {error}"),
    "central_results": ("Bảng kết quả", "Results board"),
    "central_results_ready": ("Hồ sơ có kết quả chờ trả", "Results ready for collection"),
    "central_refreshed": ("Cập nhật lần cuối", "Last refreshed"),
    "central_results_stale": ("chưa cập nhật được", "could not be refreshed"),
    "central_status_failed": (
        "Không đọc được trạng thái kết nối: {error}",
        "The connection state could not be read: {error}",
    ),
    "ago": ("{age} trước", "{age} ago"),
    "just_now": ("vừa xong", "just now"),
    "age_seconds": ("{count} giây", "{count} s"),
    "age_minutes": ("{count} phút", "{count} min"),
    "age_hours": ("{hours} giờ {minutes} phút", "{hours} h {minutes} min"),
    "age_days": ("{days} ngày {hours} giờ", "{days} d {hours} h"),
    # Devices
    "device_id": ("Mã thiết bị", "Device ID"),
    "online": ("Kết nối", "Online"),
    "version": ("Phiên bản", "Version"),
    "yes_online": ("Trực tuyến", "Online"),
    "no_offline": ("Mất kết nối", "Offline"),
    "last_seen": ("Lần cuối thấy", "Last seen"),
    "health": ("Tình trạng", "Health"),
    "no_devices": ("Chưa có thiết bị nào báo về.", "No device has reported yet."),
    "devices_unavailable": (
        "Danh sách thiết bị chưa có ở hub này.",
        "The device list is not available here.",
    ),
    # Fleet (hub.fleet): the technician's devices page
    "fleet_alerts": ("Cảnh báo", "Alerts"),
    "fleet_no_alerts": ("Không có cảnh báo.", "No alerts."),
    "fleet_add": ("Thêm thiết bị", "Add a device"),
    "fleet_add_hint": (
        "Chọn loại thiết bị và vị trí, rồi chạy lệnh hiện ra (hoặc quét mã QR) trên thiết bị mới. "
        "Mã chỉ dùng được một lần, trong {hours} giờ.",
        "Choose the role and the place, then run the command shown (or scan the QR code) on the new "
        "device. The code works once, for {hours} hours.",
    ),
    "fleet_role": ("Loại thiết bị", "Device role"),
    "fleet_place": ("Vị trí", "Place"),
    "fleet_place_kiosk": ("Ki-ốt {id}", "Kiosk {id}"),
    "fleet_place_counter": ("Quầy {id}", "Counter {id}"),
    "fleet_place_hall": ("Sảnh chờ", "Hall"),
    "fleet_device_id_optional": ("Mã thiết bị (để trống: tự đặt)", "Device ID (blank: automatic)"),
    "fleet_label": ("Ghi chú", "Note"),
    "fleet_make_code": ("Tạo mã đăng ký", "Make an enrolment code"),
    "fleet_code_title": ("Mã đăng ký cho {device}", "Enrolment code for {device}"),
    "fleet_code_valid_until": ("Dùng một lần, hết hạn lúc {time}.", "One use only; expires at {time}."),
    "fleet_code_run": ("Trên thiết bị, chạy lệnh:", "On the device, run:"),
    "fleet_code_once": (
        "Mã này chỉ hiện một lần: hãy ghi lại hoặc quét mã QR ngay.",
        "This code is shown once only: write it down or scan the QR code now.",
    ),
    "fleet_status_pending": ("Chờ đăng ký", "Awaiting enrolment"),
    "fleet_status_active": ("Đã đăng ký", "Enrolled"),
    "fleet_status_unknown": ("Chưa đăng ký", "Not enrolled"),
    "fleet_never_seen": ("Chưa kết nối lần nào", "Never connected"),
    "fleet_offline_since": ("Mất kết nối từ {time}", "Offline since {time}"),
    "fleet_actions": ("Thao tác", "Actions"),
    "fleet_cmd_identify": ("Nhận diện", "Identify"),
    "fleet_cmd_test_print": ("In thử", "Test print"),
    "fleet_cmd_reload": ("Tải lại cấu hình", "Reload configuration"),
    "fleet_cmd_restart": ("Khởi động lại", "Restart"),
    "fleet_edit_config": ("Cấu hình", "Configuration"),
    "fleet_replace": ("Thay thế", "Replace"),
    "fleet_revoke": ("Thu hồi", "Revoke"),
    "fleet_revoke_confirm": ("Tôi chắc chắn", "I am sure"),
    "fleet_last_command": ("Lệnh gần nhất", "Last command"),
    "fleet_command_status_sent": ("đã gửi", "sent"),
    "fleet_command_status_ok": ("đã xong", "done"),
    "fleet_command_status_failed": ("lỗi", "failed"),
    "fleet_config_title": ("Cấu hình của {device}", "Configuration of {device}"),
    "fleet_config_hint": (
        "Chỉ gồm các mục riêng của loại thiết bị (TOML). Khi lưu, cấu hình được kiểm tra rồi gửi ngay tới "
        "thiết bị.",
        "Only the role's own sections (TOML). When saved it is checked and sent to the device at once.",
    ),
    "fleet_config_rev": ("Phiên bản {rev}", "Revision {rev}"),
    "fleet_security_off": (
        "Máy chủ MQTT đang cho thiết bị kết nối không cần mật khẩu: chỉ dùng để trình diễn.",
        "The broker lets devices in without credentials: for demonstrations only.",
    ),
    "fleet_back": ("Quay lại danh sách thiết bị", "Back to the devices"),
    # Stats
    "stats_title": ("Thống kê trong ngày", "Today's statistics"),
    "issued": ("Đã cấp", "Issued"),
    "called": ("Đã gọi", "Called"),
    "served": ("Đã phục vụ", "Served"),
    "skipped": ("Vắng mặt", "No-shows"),
    "avg_wait": ("Chờ trung bình", "Average wait"),
    "avg_service": ("Phục vụ trung bình", "Average service time"),
    "total": ("Tổng", "Total"),
    "ratings": ("Đánh giá hài lòng", "Satisfaction ratings"),
    "ratings_count": ("Số lượt đánh giá", "Ratings"),
    "ratings_average": ("Điểm trung bình", "Average score"),
    # Error pages
    "error_title": ("Có lỗi", "Error"),
    "not_found": ("Không tìm thấy trang này.", "This page was not found."),
    "method_not_allowed": ("Không dùng được cách gọi này.", "This method is not allowed here."),
    "forbidden_page": ("Bạn không có quyền xem trang này.", "You may not see this page."),
    "server_error": ("Lỗi hệ thống, xin thử lại sau.", "System error; please try again later."),
    "too_many_streams": (
        "Máy chủ đang bận, trang sẽ tự thử lại.",
        "The server is busy; the page will retry by itself.",
    ),
    "dossier_lookup_missing": (
        "Chức năng tra cứu hồ sơ chưa có ở điểm này.",
        "Dossier lookup is not available at this site yet.",
    ),
    "back_home": ("Về trang chủ", "Back to the home page"),
}


ROLE_LABELS: WordTable = {
    "hub": ("Máy chủ hub", "Hub"),
    "kiosk": ("Ki-ốt lấy số", "Kiosk"),
    "printer": ("Máy in phiếu", "Ticket printer"),
    "scanner": ("Đầu đọc mã", "Barcode reader"),
    "led": ("Bảng LED", "LED board"),
    "display": ("Màn hình sảnh", "Hall display"),
}


def role_label(role: str | None, language: Language = "vi") -> str:
    return label(ROLE_LABELS, role, language) if role else "—"


def normalise_language(value: str | None) -> Language | None:
    if value is None:
        return None
    value = value.strip().lower()[:2]
    return value if value in LANGUAGES else None  # type: ignore[return-value]


def words(table: WordTable, key: str, language: Language = "vi", **values: object) -> str:
    """`key`'s words in `table` in `language` (the key itself when the table lacks it), placeholders
    filled, NFC-normalised: the one lookup of every page's word table."""
    vi, en = table.get(key, (key, key))
    template = vi if language == "vi" else en
    try:
        filled = template.format(**values) if values else template
    except (KeyError, IndexError):
        filled = template
    return unicodedata.normalize("NFC", filled)


def catalogue(table: WordTable, language: Language, keys: Iterable[str] | None = None) -> dict[str, str]:
    """A table's words in one language (all of them, or `keys`), for a page's script."""
    return {key: words(table, key, language) for key in (table if keys is None else keys)}


def text(key: str, language: Language = "vi", **values: object) -> str:
    """The page label `key` in `language`, placeholders filled, NFC-normalised."""
    return words(TEXTS, key, language, **values)


def counter_short_name(name: str | None) -> str:
    """'3' of 'Quầy 3' (the sentence around it already says quầy/counter)."""
    if not name:
        return ""
    for word in ("quầy ", "counter "):
        if name.lower().startswith(word):
            return name[len(word) :].strip()
    return name


def counter_title(name: str | None, language: Language = "vi") -> str:
    """'Quầy 3' for a counter named '3'; a name that already says so stays as it is."""
    short = counter_short_name(name)
    if short != (name or ""):
        return name or ""
    return text("counter_title", language, name=short)


def status_label(status: str | None, language: Language = "vi") -> str:
    return label(STATUS_LABELS, status, language) if status else ""


def client_catalogue(language: Language) -> dict[str, object]:
    """The words the console's JavaScript needs, embedded in the page as JSON."""
    keys = (
        "no_one_called",
        "counter_is_closed",
        "people",
        "minutes_short",
        "under_a_minute",
        "empty_list",
        "reinstate",
        "open_counter",
        "close_counter",
        "live",
        "offline",
        "priority",
        "done_called",
        "your_turn",
        "none",
        "choose_service",
        "server_error",
        "transfer_to",
        "open",
        "closed",
        "ticket_ongoing",
        "receipt_sent",
        "receipt_waiting",
        "receipt_code_missing",
    )
    return {
        "texts": catalogue(TEXTS, language, keys),
        "statuses": catalogue(STATUS_LABELS, language),
        "actions": catalogue(ACTION_LABELS, language),
    }
