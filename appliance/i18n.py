"""Messages shown to people: Vietnamese first, English available.

Every message has a stable key (also the error code on the wire). Keep the Vietnamese in NFC with
full diacritics; `tests/test_i18n.py` checks it.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

Language = Literal["vi", "en"]

# key: (Vietnamese, English). Placeholders use str.format names.
MESSAGES: dict[str, tuple[str, str]] = {
    # Request problems
    "bad_json": ("Yêu cầu không phải JSON hợp lệ.", "The request is not valid JSON."),
    "bad_request": ("Yêu cầu không hợp lệ: {detail}", "Invalid request: {detail}"),
    "payload_too_large": (
        "Yêu cầu quá lớn (tối đa {limit} byte).",
        "The request is too large (at most {limit} bytes).",
    ),
    "unsupported_version": (
        "Phiên bản thông điệp {version} không được hỗ trợ.",
        "Message version {version} is not supported.",
    ),
    "unknown_method": ("Không có chức năng “{method}”.", "There is no method “{method}”."),
    "forbidden": ("Thiết bị này không được phép làm việc đó.", "This device may not do that."),
    "timeout": ("Hệ thống không trả lời kịp, xin thử lại.", "The system did not answer in time; try again."),
    "internal": ("Lỗi hệ thống, xin thử lại sau.", "System error; please try again later."),
    "unavailable": ("Hệ thống đang kết nối lại.", "The system is reconnecting."),
    # Queue
    "unknown_service": ("Không có dịch vụ “{service_id}”.", "There is no service “{service_id}”."),
    "unknown_counter": ("Không có quầy “{counter_id}”.", "There is no counter “{counter_id}”."),
    "unknown_ticket": ("Không tìm thấy phiếu “{ticket_id}”.", "Ticket “{ticket_id}” was not found."),
    "no_waiting": ("Không còn ai chờ.", "No one is waiting."),
    "counter_closed": ("Quầy {counter} đang đóng.", "Counter {counter} is closed."),
    "counter_busy": (
        "Quầy {counter} đang phục vụ số {number}: hãy hoàn thành hoặc chuyển trước.",
        "Counter {counter} is serving {number}: complete or transfer it first.",
    ),
    "counter_idle": ("Quầy {counter} chưa gọi số nào.", "Counter {counter} has not called anyone."),
    "service_not_at_counter": (
        "Quầy {counter} không phục vụ “{service}”.",
        "Counter {counter} does not serve “{service}”.",
    ),
    "same_service": ("Phiếu đã thuộc dịch vụ “{service}”.", "The ticket already belongs to “{service}”."),
    "service_full": (
        "Dịch vụ “{service}” đã hết số trong ngày.",
        "Service “{service}” has run out of numbers today.",
    ),
    "service_closed": (
        "Ngoài giờ làm việc. Giờ làm việc: {hours}.",
        "Outside opening hours. Opening hours: {hours}.",
    ),
    "invalid_state": (
        "Phiếu {number} đang ở trạng thái “{status}”, không thể {action}.",
        "Ticket {number} is “{status}”; cannot {action}.",
    ),
    "bad_score": ("Điểm đánh giá phải từ {low} đến {high}.", "The rating must be from {low} to {high}."),
    "already_rated": ("Phiếu {number} đã được đánh giá.", "Ticket {number} has already been rated."),
    "not_rateable": (
        "Chỉ đánh giá được sau khi đã được phục vụ.",
        "A ticket can be rated only after it was served.",
    ),
    "not_implemented": (
        "Chức năng “{method}” chưa có ở điểm này.",
        "“{method}” is not available at this site yet.",
    ),
    # Web
    "login_failed": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "login_required": ("Cần đăng nhập.", "Login required."),
    "csrf_failed": (
        "Phiên làm việc đã hết hạn, hãy tải lại trang.",
        "Your session expired; reload the page.",
    ),
    "not_your_counter": (
        "Bạn không được phân công ở quầy {counter}.",
        "You are not assigned to counter {counter}.",
    ),
    # barcode_reader + appliance/dossier_code.py: dossier codes typed or scanned
    "dossier_code_empty": ("Chưa nhập mã hồ sơ.", "No dossier code was given."),
    "dossier_code_too_long": (
        "Mã hồ sơ quá dài (tối đa {limit} ký tự).",
        "The dossier code is too long (at most {limit} characters).",
    ),
    "dossier_code_bad_char": (
        "Mã hồ sơ “{value}” có ký tự không hợp lệ “{char}”: chỉ dùng chữ, số, dấu chấm và gạch ngang.",
        "Dossier code “{value}” has an invalid character “{char}”: use letters, digits, dots and hyphens.",
    ),
    "dossier_code_format": (
        "“{value}” không phải mã hồ sơ. Mã hồ sơ có dạng 000.00.06.H56-231027-0361.",
        "“{value}” is not a dossier code. A dossier code looks like 000.00.06.H56-231027-0361.",
    ),
    "dossier_code_date": (
        "Mã hồ sơ “{value}” có ngày tiếp nhận “{date}” không hợp lệ.",
        "Dossier code “{value}” has an invalid reception date “{date}”.",
    ),
    "dossier_code_no_code_in_url": (
        "Đường dẫn “{value}” không chứa mã hồ sơ.",
        "The link “{value}” carries no dossier code.",
    ),
    # ticket_printer: printed labels (tickets, receipts, test page) and print-job results
    "print_ticket_title": ("SỐ THỨ TỰ", "YOUR NUMBER"),
    "print_priority": ("ƯU TIÊN", "PRIORITY"),
    "print_issued_at": ("Giờ lấy số: {time}", "Issued at: {time}"),
    "print_ahead": ("Số người chờ trước bạn: {count}", "People ahead of you: {count}"),
    "print_ahead_none": ("Không có ai chờ trước bạn", "No one is ahead of you"),
    "print_wait": ("Thời gian chờ dự kiến: {wait}", "Estimated wait: {wait}"),
    "print_wait_soon": ("dưới 1 phút", "under a minute"),
    "print_wait_minutes": ("khoảng {minutes} phút", "about {minutes} min"),
    "print_wait_hours": ("khoảng {hours} giờ {minutes} phút", "about {hours} h {minutes} min"),
    "print_scan_ticket": ("Quét mã QR để theo dõi lượt của bạn", "Scan the QR code to follow your turn"),
    "print_priority_elderly": ("Người cao tuổi", "Elderly person"),
    "print_priority_disabled": ("Người khuyết tật", "Person with a disability"),
    "print_priority_pregnant": ("Phụ nữ mang thai", "Pregnant woman"),
    "print_priority_revolutionary": ("Người có công với cách mạng", "Person of merit to the revolution"),
    "print_priority_child": ("Đi cùng trẻ em dưới 6 tuổi", "With a child under 6"),
    "print_motto_nation": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIETNAM"),
    "print_motto_words": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "print_receipt_title": (
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "RECEIPT OF DOSSIER AND APPOINTMENT FOR RESULTS",
    ),
    "print_receipt_number": ("Số: {number}", "No.: {number}"),
    "print_dossier_code": ("Mã hồ sơ:", "Dossier code:"),
    "print_received_from": ("Tiếp nhận hồ sơ của:", "Dossier received from:"),
    "print_applicant": ("Ông/Bà:", "Applicant:"),
    "print_address": ("Địa chỉ:", "Address:"),
    "print_phone": ("Số điện thoại:", "Phone:"),
    "print_id_number": ("Số CCCD/CMND:", "ID number:"),
    "print_procedure": ("Nội dung yêu cầu giải quyết:", "Request:"),
    "print_papers": ("Thành phần hồ sơ gồm:", "Papers submitted:"),
    "print_papers_none": ("(không có giấy tờ kèm theo)", "(no papers attached)"),
    "print_paper_count": ("{count} bản", "{count} cop."),
    "print_processing_time": ("Thời hạn giải quyết:", "Processing time:"),
    "print_received_at": ("Thời gian nhận hồ sơ:", "Received at:"),
    "print_appointment": ("Thời gian trả kết quả:", "Results on:"),
    "print_result_place": ("Nơi trả kết quả:", "Collect results at:"),
    "print_lookup": ("Tra cứu hồ sơ:", "Look up the dossier:"),
    "print_hotline": ("Đường dây nóng:", "Hotline:"),
    "print_scan_receipt": ("Quét mã để tra cứu tình trạng hồ sơ", "Scan to check the dossier status"),
    "print_officer": ("NGƯỜI TIẾP NHẬN", "RECEIVING OFFICER"),
    "print_datetime_long": ("{hour} giờ {minute:02d} phút, ngày {date}", "{hour}:{minute:02d}, {date}"),
    "print_test_title": ("IN THỬ", "TEST PRINT"),
    "print_test_printer": ("Máy in: {printer}", "Printer: {printer}"),
    "print_test_width": ("Khổ in: {dots} điểm ({mm} mm)", "Print width: {dots} dots ({mm} mm)"),
    "print_test_time": ("Thời gian: {time}", "Time: {time}"),
    "print_test_sample": (
        "Tiếng Việt có dấu: Ắ Ằ Ẳ Ẵ Ặ ắ ằ ẳ ẵ ặ Ế Ề Ể Ễ Ệ ơ ư đ Đ Ỹ ỹ",
        "Vietnamese sample: Ắ Ằ Ẳ Ẵ Ặ ắ ằ ẳ ẵ ặ Ế Ề Ể Ễ Ệ ơ ư đ Đ Ỹ ỹ",
    ),
    "print_bad_job": ("Lệnh in không hợp lệ: {detail}", "Invalid print job: {detail}"),
    "print_unknown_kind": ("Không có loại lệnh in “{kind}”.", "There is no print job kind “{kind}”."),
    "print_does_not_fit": (
        "Nội dung không vừa khổ giấy: {detail}",
        "The content does not fit the paper: {detail}",
    ),
    "print_font_missing": ("Thiếu phông chữ {path}.", "Font {path} is missing."),
    "print_io_error": (
        "Lỗi khi gửi tới máy in {printer}: {detail}",
        "Error sending to printer {printer}: {detail}",
    ),
    "print_out_of_paper": ("Máy in {printer} hết giấy.", "Printer {printer} is out of paper."),
    "print_offline": ("Máy in {printer} không sẵn sàng (nắp mở hoặc lỗi).", "Printer {printer} is offline."),
    "print_no_reply": ("Máy in {printer} không trả lời.", "Printer {printer} does not answer."),
    "print_deadline": (
        "Quá {seconds} giây chờ máy in: {reason}",
        "Waited more than {seconds} s for the printer: {reason}",
    ),
    "print_interrupted": (
        "Lệnh in bị gián đoạn khi đang in; không in lại để tránh in trùng.",
        "The job was interrupted while printing; not reprinted to avoid a duplicate.",
    ),
    # appliance.mqtt / appliance.rpc (mqtt-runtime)
    "not_an_object": ("Yêu cầu phải là một đối tượng JSON.", "The request must be a JSON object."),
    "overloaded": ("Hệ thống đang bận, xin thử lại sau giây lát.", "The system is busy; try again shortly."),
    # hub.central: dossier lookups and the procedure catalogue (central dossier system)
    "central_code_invalid": ("Mã hồ sơ không hợp lệ. {reason}", "Invalid dossier code. {reason}"),
    "central_dossier_not_found": (
        "Không tìm thấy hồ sơ {code}. Xin kiểm tra lại mã trên giấy tiếp nhận hồ sơ.",
        "Dossier {code} was not found. Please check the code on your receipt.",
    ),
    "central_rate_limited": (
        "Bạn tra cứu quá nhiều lần. Xin thử lại sau {seconds} giây.",
        "Too many lookups. Please try again in {seconds} seconds.",
    ),
    "central_unavailable": (
        "Chưa kết nối được hệ thống quản lý hồ sơ. Xin thử lại sau ít phút.",
        "The dossier system cannot be reached. Please try again in a few minutes.",
    ),
    "central_not_configured": (
        "Điểm này chưa kết nối hệ thống quản lý hồ sơ, chưa tra cứu được hồ sơ.",
        "This site is not connected to the dossier system; dossiers cannot be looked up here.",
    ),
    # queue_display: the hall display
    "display_recent": ("VỪA GỌI", "NOW CALLING"),
    "display_waiting": ("ĐANG CHỜ", "WAITING"),
    "display_offline": ("● Mất kết nối", "● Disconnected"),
    "display_closed": ("Tạm nghỉ", "Closed"),
    "display_connecting": ("Đang kết nối hệ thống xếp hàng…", "Connecting to the queue system…"),
    "display_page": ("Trang {page}/{pages}", "Page {page}/{pages}"),
    # led_board: counter and hall LED boards, counter keypads, rating buttons
    "led_counter": ("QUẦY {counter}", "COUNTER {counter}"),
    "led_hall_header": ("SỐ → QUẦY", "NO. → COUNTER"),
    "led_hall_row": ("{number} → {counter}", "{number} → {counter}"),
    "led_offline": ("MẤT KẾT NỐI", "OFFLINE"),
    "led_busy": ("Đang xử lý lệnh trước, xin chờ.", "Still handling the previous key; please wait."),
    "led_no_transfer_service": (
        "Chưa cấu hình dịch vụ để chuyển.",
        "No service to transfer to is configured.",
    ),
    "led_rating_thanks": ("Cảm ơn quý khách!", "Thank you!"),
    "led_rating_not_armed": ("Chưa có lượt phục vụ để đánh giá.", "There is no service to rate yet."),
}

# Ticket statuses as people read them.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "waiting": ("Đang chờ", "Waiting"),
    "called": ("Đã gọi", "Called"),
    "serving": ("Đang phục vụ", "Being served"),
    "completed": ("Đã hoàn thành", "Completed"),
    "skipped": ("Vắng mặt", "Did not show up"),
    "cancelled": ("Đã hủy", "Cancelled"),
}

ACTION_LABELS: dict[str, tuple[str, str]] = {
    "call": ("gọi", "call it"),
    "recall": ("gọi lại", "recall it"),
    "skip": ("đánh dấu vắng mặt", "mark it absent"),
    "complete": ("hoàn thành", "complete it"),
    "transfer": ("chuyển", "transfer it"),
    "cancel": ("hủy", "cancel it"),
    "reinstate": ("khôi phục", "reinstate it"),
    "start": ("bắt đầu phục vụ", "start serving it"),
}


def message(key: str, language: Language = "vi", **values: object) -> str:
    """The message for `key` in `language`, with placeholders filled; NFC-normalised."""
    vi, en = MESSAGES.get(key, MESSAGES["internal"])
    template = vi if language == "vi" else en
    try:
        text = template.format(**values)
    except (KeyError, IndexError):
        text = template
    return unicodedata.normalize("NFC", text)


def label(table: dict[str, tuple[str, str]], key: str, language: Language = "vi") -> str:
    vi, en = table.get(key, (key, key))
    return vi if language == "vi" else en
