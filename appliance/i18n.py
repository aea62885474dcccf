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
    # Booking and citizens' notifications (hub.bookings, hub.citizen_notify)
    "booking_limit": (
        "Mỗi người chỉ được đặt tối đa {limit} lịch trong một ngày.",
        "At most {limit} bookings a day per person.",
    ),
    "slot_full": (
        "Giờ {slot} đã hết chỗ, xin chọn giờ khác.",
        "The {slot} slot is full; choose another time.",
    ),
    "booking_no_slot": ("Không có giờ đặt lịch {slot} cho ngày này.", "There is no {slot} slot on that day."),
    "booking_no_service": (
        "Dịch vụ “{service_id}” không nhận đặt lịch trực tuyến.",
        "The service “{service_id}” cannot be booked online.",
    ),
    "booking_day_closed": (
        "Chỉ đặt được lịch từ {first} đến {last}.",
        "Bookings are open from {first} to {last} only.",
    ),
    "booking_not_found": ("Không tìm thấy lịch hẹn với mã này.", "No booking has this code."),
    "booking_not_found_card": (
        "Không có lịch hẹn hôm nay đặt bằng số căn cước này.",
        "No booking for today was made with this ID card number.",
    ),
    "booking_cancelled": ("Lịch hẹn này đã bị huỷ.", "This booking was cancelled."),
    "booking_checked_in": ("Lịch hẹn này đã được dùng để lấy số.", "This booking was already checked in."),
    "booking_not_today": (
        "Lịch hẹn này là ngày {date}, không phải hôm nay.",
        "This booking is for {date}, not today.",
    ),
    "booking_too_early": (
        "Còn sớm: lịch hẹn lúc {slot}, bạn có thể lấy số trước giờ hẹn tối đa {minutes} phút.",
        "Too early: the booking is at {slot}; check in at most {minutes} minutes before.",
    ),
    "check_in_not_here": (
        "Chỉ lấy số từ điện thoại khi bạn đang ở trong trung tâm (mạng Wi-Fi của trung tâm), hoặc tại ki-ốt.",
        "Check in from the phone only inside the centre (on its Wi-Fi), or at the kiosk.",
    ),
    "bad_phone": (
        "Số điện thoại di động không hợp lệ (ví dụ 0912 345 678).",
        "Not a valid Vietnamese mobile number (e.g. 0912 345 678).",
    ),
    "bad_id_no": ("Số CCCD phải có đúng 12 chữ số.", "An ID card number has exactly 12 digits."),
    "otp_required": (
        "Xin nhập mã xác nhận đã gửi tới điện thoại của bạn.",
        "Enter the code sent to your phone.",
    ),
    "otp_wrong": ("Mã xác nhận không đúng hoặc đã hết hạn.", "The code is wrong or has expired."),
    "otp_unavailable": (
        "Chưa gửi được tin nhắn xác nhận; xin dùng số CCCD.",
        "Confirmation messages cannot be sent; use your ID card number.",
    ),
    "booking_unavailable": (
        "Trung tâm này chưa nhận đặt lịch trực tuyến.",
        "This centre takes no online bookings.",
    ),
    # Request problems
    "bad_json": ("Yêu cầu không phải JSON hợp lệ.", "The request is not valid JSON."),
    "bad_request": ("Yêu cầu không hợp lệ: {detail}", "Invalid request: {detail}"),
    "unsupported_media_type": (
        "Yêu cầu phải gửi dạng JSON (Content-Type: application/json).",
        "The request must be JSON (Content-Type: application/json).",
    ),
    "cross_origin": (
        "Yêu cầu từ trang web khác bị từ chối.",
        "A request from another web site was refused.",
    ),
    "too_many_attempts": (
        "Quá nhiều lần thử. Xin thử lại sau {minutes} phút.",
        "Too many attempts. Try again in {minutes} minutes.",
    ),
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
    "dossier_already_rated": (
        "Hồ sơ {dossier} đã được đánh giá. Xin cảm ơn!",
        "Dossier {dossier} has already been rated. Thank you!",
    ),
    "no_dossier_to_rate": (
        "Quầy chưa gắn hồ sơ nào để đánh giá.",
        "No dossier is linked at this counter to rate.",
    ),
    "rating_link_invalid": ("Đường dẫn đánh giá không hợp lệ.", "This rating link is not valid."),
    "reports_forbidden": (
        "Chỉ trưởng bộ phận hoặc quản trị viên được xem báo cáo.",
        "Only the head of office or an administrator may see reports.",
    ),
    "timeout": ("Hệ thống không trả lời kịp, xin thử lại.", "The system did not answer in time; try again."),
    "internal": ("Lỗi hệ thống, xin thử lại sau.", "System error; please try again later."),
    "unavailable": ("Hệ thống đang kết nối lại.", "The system is reconnecting."),
    # Queue
    "unknown_service": ("Không có dịch vụ “{service_id}”.", "There is no service “{service_id}”."),
    "unknown_counter": ("Không có quầy “{counter_id}”.", "There is no counter “{counter_id}”."),
    "unknown_ticket": ("Không tìm thấy phiếu “{ticket_id}”.", "Ticket “{ticket_id}” was not found."),
    "no_waiting": ("Không còn ai chờ.", "No one is waiting."),
    "counter_closed": ("Quầy {counter} đang đóng.", "Counter {counter} is closed."),
    # Administration (hub/admin): refused edits of the live site configuration.
    "admin_invalid": ("Cấu hình không hợp lệ: {detail}", "Invalid configuration: {detail}"),
    "admin_exists": ("“{id}” đã có.", "“{id}” already exists."),
    "admin_not_found": ("Không có “{id}”.", "There is no “{id}”."),
    "admin_service_at_counters": (
        "Lĩnh vực “{id}” đang được quầy {counters} phục vụ: bỏ khỏi các quầy đó trước.",
        "Service “{id}” is served at counter(s) {counters}: remove it there first.",
    ),
    "admin_service_at_kiosks": (
        "Lĩnh vực “{id}” đang có trên ki-ốt {kiosks}: bỏ khỏi các ki-ốt đó trước.",
        "Service “{id}” is offered at kiosk(s) {kiosks}: remove it there first.",
    ),
    "admin_counter_has_officers": (
        "Quầy “{id}” đang được giao cho cán bộ {officers}: bỏ giao trước.",
        "Counter “{id}” is assigned to officer(s) {officers}: unassign it first.",
    ),
    "admin_service_in_use": (
        "Lĩnh vực {service} còn phiếu đang chờ hoặc đang phục vụ hôm nay: chưa thể xoá.",
        "Service {service} still has tickets waiting or being served today: it cannot be removed yet.",
    ),
    "admin_numbers_in_use": (
        "Lĩnh vực {service} đã cấp số hôm nay: chỉ được mở rộng dải số (số cuối), "
        "không đổi tiền tố, số đầu hay số chữ số.",
        "Service {service} issued numbers today: only widen its block (the last number); "
        "prefix, first number and digits stay.",
    ),
    "admin_block_too_small": (
        "Lĩnh vực {service} đã cấp đến số {number}: dải số mới không được nhỏ hơn.",
        "Service {service} already issued up to {number}: the new block cannot be smaller.",
    ),
    "admin_forbidden": (
        "Chỉ quản trị viên hoặc trưởng bộ phận được thay đổi cấu hình.",
        "Only an administrator or the head of office may change the configuration.",
    ),
    "admin_only": (
        "Chỉ quản trị viên được làm việc này.",
        "Only an administrator may do this.",
    ),
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
        "Dịch vụ “{service}” đã hết số trong ngày. Xin liên hệ cán bộ hướng dẫn tại sảnh.",
        "Service “{service}” has run out of numbers today. Please ask the staff in the hall.",
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
    # The hub's own faults: its clock and its storage (issue 14); shown on /healthz, the fleet
    # page and the officer console.
    "storage_full": (
        "Bộ nhớ của máy chủ hub đã đầy, chưa lưu được. Xin báo kỹ thuật viên.",
        "The hub's storage is full; nothing was saved. Please call the technician.",
    ),
    "hub_storage_full": (
        "Ổ đĩa của máy chủ hub đã đầy ({path}): không cấp được số mới cho đến khi giải phóng dung lượng.",
        "The hub's disk is full ({path}): no new numbers until space is freed.",
    ),
    "hub_clock_unsynchronised": (
        "Đồng hồ máy chủ hub chưa được đồng bộ (NTP): ngày phục vụ mới sẽ không tự mở.",
        "The hub's clock is not synchronised (NTP): a new service day will not open by itself.",
    ),
    "hub_day_held_unsynchronised": (
        "Đồng hồ máy chủ hub chưa được đồng bộ (NTP) nên chưa mở ngày phục vụ {held}; vẫn cấp số"
        " của ngày {day}. Kiểm tra mạng và NTP, hoặc quản trị viên xác nhận ngày mới.",
        "The hub's clock is not synchronised (NTP), so service day {held} is not opened; numbers"
        " are still of {day}. Check the network and NTP, or an administrator confirms the new day.",
    ),
    "hub_day_held_clock_jump": (
        "Đồng hồ máy chủ hub đã nhảy sang ngày {held} (không phải lần chuyển ngày thường lệ): ngày"
        " mới chờ quản trị viên xác nhận, hoặc lần chuyển ngày tiếp theo; vẫn cấp số của ngày {day},"
        " không hủy số của ai.",
        "The hub's clock jumped to {held} (not a normal rollover): the new day waits for an"
        " administrator's confirmation, or the next rollover; numbers are still of {day} and"
        " nobody's ticket is cancelled.",
    ),
    "hub_clock_behind": (
        "Đồng hồ máy chủ hub ({clock_day}) chậm hơn ngày phục vụ {day}: vẫn cấp số của ngày {day}."
        " Kiểm tra đồng hồ.",
        "The hub's clock ({clock_day}) is behind service day {day}: numbers are still of {day}."
        " Check the clock.",
    ),
    "day_confirmed": (
        "Đã mở ngày phục vụ {day} ({cancelled} số của ngày trước bị hủy).",
        "Service day {day} is open ({cancelled} tickets of the day before cancelled).",
    ),
    "day_confirm_button": (
        "Xác nhận mở ngày phục vụ mới theo đồng hồ hub (hủy các số đang chờ của ngày cũ)",
        "Confirm the new service day the hub's clock shows (cancels the old day's waiting numbers)",
    ),
    "day_nothing_to_confirm": (
        "Không có ngày mới nào chờ xác nhận: đồng hồ hub chỉ ngày {clock_day}, ngày phục vụ là {day}.",
        "No new day waits for confirmation: the hub's clock says {clock_day}, the service day is {day}.",
    ),
    "fleet_alert_heartbeat": (
        "Thiết bị {device} không báo tình trạng từ {since} ({minutes} phút): coi như mất kết nối.",
        "Device {device} has not reported since {since} ({minutes} min): treated as offline.",
    ),
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
    "no_printer": ("Quầy {counter} chưa có máy in.", "Counter {counter} has no printer."),
    "too_many_tickets": (
        "Địa chỉ này đã lấy quá nhiều số. Xin thử lại sau {minutes} phút hoặc lấy số tại ki-ốt.",
        "Too many numbers taken from this address. Try again in {minutes} minutes or use the kiosk.",
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
    "print_rate_title": ("ĐÁNH GIÁ SỰ HÀI LÒNG", "RATE OUR SERVICE"),
    "print_rate_scan": (
        "Quét mã hoặc mở địa chỉ dưới đây để đánh giá việc giải quyết hồ sơ này",
        "Scan the code or open the address below to rate how this dossier was handled",
    ),
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
    "print_expired": (
        "Phiếu không được in: đã quá thời gian người lấy số còn đứng chờ ở ki-ốt (máy in {printer}).",
        "Not printed: the citizen's time at the kiosk had passed (printer {printer}).",
    ),
    "print_interrupted": (
        "Lệnh in bị gián đoạn khi đang in; không in lại để tránh in trùng.",
        "The job was interrupted while printing; not reprinted to avoid a duplicate.",
    ),
    # appliance.mqtt / appliance.rpc (mqtt-runtime)
    "not_an_object": ("Yêu cầu phải là một đối tượng JSON.", "The request must be a JSON object."),
    "overloaded": ("Hệ thống đang bận, xin thử lại sau giây lát.", "The system is busy; try again shortly."),
    "rate_limited": (
        "Thiết bị này gửi yêu cầu quá nhanh. Xin thử lại sau {seconds} giây.",
        "This device is sending requests too fast. Try again in {seconds} s.",
    ),
    # hub.central: dossier lookups and the procedure catalogue (central dossier system)
    "central_code_invalid": ("Mã hồ sơ không hợp lệ. {reason}", "Invalid dossier code. {reason}"),
    "central_dossier_not_found": (
        "Không tìm thấy hồ sơ {dossier}. Xin kiểm tra lại mã trên giấy tiếp nhận hồ sơ.",
        "Dossier {dossier} was not found. Please check the code on your receipt.",
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
    "display_paused": ("Tạm nghỉ: {reason}", "Closed: {reason}"),
    "display_connecting": ("Đang kết nối hệ thống xếp hàng…", "Connecting to the queue system…"),
    "display_page": ("Trang {page}/{pages}", "Page {page}/{pages}"),
    # led_board: counter and hall LED boards, counter keypads, rating buttons
    "led_counter": ("QUẦY {counter}", "COUNTER {counter}"),
    "led_hall_header": ("SỐ → QUẦY", "NO. → COUNTER"),
    "led_hall_row": ("{number} → {counter}", "{number} → {counter}"),
    "led_offline": ("MẤT KẾT NỐI", "OFFLINE"),
    "led_paused": ("Tạm nghỉ: {reason}", "Closed: {reason}"),
    "led_hall_paused": ("Quầy {counter} tạm nghỉ: {reason}", "Counter {counter} closed: {reason}"),
    "led_busy": ("Đang xử lý lệnh trước, xin chờ.", "Still handling the previous key; please wait."),
    "led_no_transfer_service": (
        "Chưa cấu hình dịch vụ để chuyển.",
        "No service to transfer to is configured.",
    ),
    "led_rating_thanks": ("Cảm ơn quý khách!", "Thank you!"),
    "led_rating_not_armed": ("Chưa có lượt phục vụ để đánh giá.", "There is no service to rate yet."),
    # kiosk: the citizen touchscreen kiosk
    "kiosk_welcome": ("Xin kính chào quý khách", "Welcome"),
    "kiosk_choose": ("Xin chạm vào việc quý khách cần làm", "Please touch what you need"),
    "kiosk_menu_ticket": ("Lấy số thứ tự", "Take a number"),
    "kiosk_menu_ticket_hint": ("Chọn dịch vụ và nhận số ngay", "Choose a service and get your number"),
    "kiosk_menu_dossier": ("Tra cứu hồ sơ", "Check a dossier"),
    "kiosk_menu_dossier_hint": (
        "Quét mã trên giấy hẹn hoặc nhập mã hồ sơ",
        "Scan your receipt or type the dossier code",
    ),
    "kiosk_menu_procedure": ("Tra cứu thủ tục", "Find a procedure"),
    "kiosk_menu_procedure_hint": (
        "Giấy tờ cần nộp, lệ phí, thời gian giải quyết",
        "Papers to bring, fees, processing time",
    ),
    "kiosk_menu_rating": ("Đánh giá", "Rate our service"),
    "kiosk_menu_rating_hint": ("Cho biết mức độ hài lòng của quý khách", "Tell us how satisfied you are"),
    "kiosk_language_switch": ("English", "Tiếng Việt"),
    # Kiosk: check-in of a booking, the ID card with consent, the assist mode (issue 17)
    "kiosk_menu_booking": ("Tôi đã đặt lịch", "I have a booking"),
    "kiosk_menu_booking_hint": (
        "Quét mã QR đặt lịch hoặc nhập mã để lấy số",
        "Scan your booking QR or type its code to get your number",
    ),
    "kiosk_booking_title": ("Lấy số theo lịch hẹn", "Check in your booking"),
    "kiosk_booking_hint": (
        "Quét mã QR đặt lịch, hoặc nhập mã 8 ký tự (ví dụ ABCD-2345).",
        "Scan the booking QR, or type its 8-character code (e.g. ABCD-2345).",
    ),
    "kiosk_booking_placeholder": ("Mã đặt lịch", "Booking code"),
    "kiosk_booking_submit": ("Lấy số", "Check in"),
    "kiosk_booking_bad_code": (
        "Mã đặt lịch gồm 8 chữ và số (không có 0, 1, I, L, O).",
        "A booking code has 8 letters and digits (no 0, 1, I, L, O).",
    ),
    "kiosk_checking_in": ("Đang lấy số theo lịch hẹn…", "Checking in…"),
    "kiosk_booking_identity": ("Thẻ căn cước {card} · {priority}", "ID card {card} · {priority}"),
    "kiosk_card_title": ("Thẻ căn cước", "ID card"),
    "kiosk_card_consent": (
        "Quý khách vừa quét thẻ căn cước {card}. Ki-ốt chỉ dùng ngày sinh trên thẻ để xét ưu tiên "
        "người cao tuổi cho lượt này; không lưu, không gửi thông tin trên thẻ. Quý khách có đồng ý không?",
        "You scanned ID card {card}. The kiosk uses only its date of birth, to give elderly priority "
        "for this visit; nothing of the card is kept or sent. Do you agree?",
    ),
    "kiosk_card_yes": ("Đồng ý", "I agree"),
    "kiosk_card_no": ("Không đồng ý", "No, thank you"),
    "kiosk_card_elderly": (
        "Quý khách được ưu tiên người cao tuổi (từ {age} tuổi).",
        "You get elderly priority (aged {age} or over).",
    ),
    "kiosk_card_not_elderly": (
        "Đã đọc thẻ. Quý khách chưa thuộc diện ưu tiên người cao tuổi (từ {age} tuổi).",
        "Card read. Elderly priority starts at {age}.",
    ),
    "kiosk_card_unreadable": (
        "Không đọc được ngày sinh trên thẻ. Xin chọn đối tượng ưu tiên khi lấy số.",
        "The date of birth could not be read. Choose your priority when taking a number.",
    ),
    "kiosk_card_next": ("Quý khách muốn làm gì tiếp?", "What would you like to do next?"),
    "kiosk_card_consent_chip": (
        "Ki-ốt vừa đọc chip thẻ căn cước {card}. Nếu quý khách đồng ý, số thẻ được gửi tới hệ thống của "
        "trung tâm chỉ để tìm lịch hẹn hôm nay và hồ sơ của quý khách, ngày sinh để xét ưu tiên người "
        "cao tuổi; ki-ốt không lưu thông tin trên thẻ. Quý khách có đồng ý không?",
        "The kiosk read the chip of ID card {card}. If you agree, its number goes to the centre's "
        "system only to find today's booking and your dossiers, and the date of birth gives elderly "
        "priority; the kiosk keeps nothing of the card. Do you agree?",
    ),
    "kiosk_card_mine": ("Hồ sơ của tôi", "My dossiers"),
    "kiosk_card_mine_hint": ("Xem hồ sơ quý khách đã nộp", "See the dossiers you have filed"),
    "kiosk_card_booking": ("Lịch hẹn hôm nay", "Today's booking"),
    "kiosk_card_booking_hint": (
        "Lấy số theo lịch đã đặt bằng số căn cước này",
        "Get your number for the booking made with this card",
    ),
    "kiosk_card_mine_busy": ("Đang tìm hồ sơ của quý khách…", "Looking for your dossiers…"),
    "kiosk_card_mine_none": (
        "Không có hồ sơ nào mang số căn cước này.",
        "No dossier was filed with this ID card number.",
    ),
    "kiosk_card_mine_line": (
        "{code} · {procedure} · {name} · {status}",
        "{code} · {procedure} · {name} · {status}",
    ),
    "kiosk_assist": ("Hỗ trợ", "Assist"),
    "kiosk_assist_on": (
        "Chế độ hỗ trợ đã bật. Chạm một lần để nghe, chạm lần nữa để chọn.",
        "Assist mode on. Touch once to hear a button, touch it again to choose it.",
    ),
    "kiosk_assist_off": ("Chế độ hỗ trợ đã tắt.", "Assist mode off."),
    "kiosk_back": ("‹ Quay lại", "‹ Back"),
    "kiosk_home": ("Trang chủ", "Home"),
    "kiosk_services_title": ("Chọn dịch vụ để lấy số", "Choose a service"),
    "kiosk_services_hint": (
        "Chạm vào dịch vụ cần làm: số thứ tự được cấp ngay.",
        "Touch the service you need: your number is issued at once.",
    ),
    "kiosk_priority_title": ("Ưu tiên (nếu có):", "Priority (if any):"),
    "kiosk_priority_none": ("Không ưu tiên", "No priority"),
    "kiosk_priority_elderly": ("Người cao tuổi", "Elderly person"),
    "kiosk_priority_disabled": ("Người khuyết tật", "Person with a disability"),
    "kiosk_priority_pregnant": ("Phụ nữ mang thai", "Pregnant woman"),
    "kiosk_priority_merit": ("Người có công", "Person of merit"),
    "kiosk_priority_child": ("Trẻ em dưới 6 tuổi", "Child under 6"),
    "kiosk_waiting_count": ("Đang chờ: {count} người", "Waiting: {count}"),
    "kiosk_waiting_none": ("Không có người chờ", "No one waiting"),
    "kiosk_wait_estimate": ("chờ khoảng {wait}", "about {wait}"),
    "kiosk_wait_soon": ("dưới 1 phút", "under a minute"),
    "kiosk_wait_minutes": ("{minutes} phút", "{minutes} min"),
    "kiosk_wait_hours": ("{hours} giờ {minutes} phút", "{hours} h {minutes} min"),
    "kiosk_service_closed": ("Quầy đang tạm nghỉ", "Counter closed for now"),
    "kiosk_no_services": (
        "Đang tải danh sách dịch vụ, xin chờ trong giây lát…",
        "Loading the services, please wait a moment…",
    ),
    "kiosk_issuing": ("Đang lấy số…", "Getting your number…"),
    "kiosk_ticket_title": ("Số thứ tự của quý khách", "Your number"),
    "kiosk_ticket_priority": ("Ưu tiên: {group}", "Priority: {group}"),
    "kiosk_ticket_ahead": ("Số người chờ trước: {count}", "People ahead of you: {count}"),
    "kiosk_ticket_ahead_none": ("Không có ai chờ trước quý khách", "No one is ahead of you"),
    "kiosk_ticket_wait": ("Thời gian chờ dự kiến: {wait}", "Estimated wait: {wait}"),
    "kiosk_ticket_qr": (
        "Quét mã QR bằng điện thoại để theo dõi lượt",
        "Scan the QR code with your phone to follow your turn",
    ),
    "kiosk_print_printing": ("Đang in phiếu…", "Printing your ticket…"),
    "kiosk_print_done": (
        "Đã in phiếu. Xin nhận phiếu ở khe bên dưới.",
        "Printed. Please take your ticket below.",
    ),
    "kiosk_print_failed": (
        "Máy in không in được phiếu. Xin chụp ảnh màn hình hoặc ghi nhớ số thứ tự.",
        "The printer could not print your ticket. Please photograph the screen or note your number.",
    ),
    "kiosk_print_unavailable": (
        "Máy in đang tạm ngừng. Xin chụp ảnh màn hình hoặc ghi nhớ số thứ tự.",
        "The printer is out of service. Please photograph the screen or note your number.",
    ),
    "kiosk_print_none": (
        "Ki-ốt này không in phiếu. Xin chụp ảnh mã QR hoặc ghi nhớ số thứ tự.",
        "This kiosk does not print. Please photograph the QR code or note your number.",
    ),
    "kiosk_print_no_answer": (
        "Máy in chưa phản hồi. Nếu không nhận được phiếu, xin chụp ảnh màn hình.",
        "The printer has not answered. If no ticket comes out, please photograph the screen.",
    ),
    "kiosk_printer_paper_out": (
        "Máy in hết giấy: số của quý khách sẽ hiện trên màn hình và trên điện thoại (quét mã QR).",
        "The printer is out of paper: your number will be shown on screen and on your phone "
        "(scan the QR code).",
    ),
    "kiosk_printer_down": (
        "Máy in đang tạm ngừng: số của quý khách sẽ hiện trên màn hình và trên điện thoại (quét mã QR).",
        "The printer is out of service: your number will be shown on screen and on your phone "
        "(scan the QR code).",
    ),
    "kiosk_done": ("Xong", "Done"),
    "kiosk_closing_in": ("Màn hình tự đóng sau {seconds} giây", "This screen closes in {seconds} s"),
    "kiosk_try_again": (
        "Chưa thực hiện được, xin quý khách thử lại sau giây lát.",
        "That did not work; please try again in a moment.",
    ),
    "kiosk_dossier_title": ("Tra cứu hồ sơ", "Check a dossier"),
    "kiosk_dossier_hint": (
        "Đưa mã vạch hoặc mã QR trên giấy hẹn vào máy quét, hoặc nhập mã hồ sơ:",
        "Hold the barcode or QR code of your receipt under the scanner, or type the dossier code:",
    ),
    "kiosk_dossier_placeholder": ("Ví dụ: 000.00.06.H56-231027-0361", "e.g. 000.00.06.H56-231027-0361"),
    "kiosk_lookup": ("Tra cứu", "Look up"),
    "kiosk_looking_up": ("Đang tra cứu…", "Looking up…"),
    "kiosk_dossier_code": ("Mã hồ sơ", "Dossier code"),
    "kiosk_dossier_procedure": ("Thủ tục", "Procedure"),
    "kiosk_dossier_applicant": ("Người nộp", "Applicant"),
    "kiosk_dossier_status": ("Tình trạng", "Status"),
    "kiosk_dossier_step": ("Đang ở bước", "Current step"),
    "kiosk_dossier_received": ("Ngày tiếp nhận", "Received on"),
    "kiosk_dossier_appointment": ("Ngày hẹn trả kết quả", "Results due"),
    "kiosk_dossier_overdue": ("Quá hạn {days} ngày", "{days} days overdue"),
    "kiosk_dossier_overdue_today": ("Đã quá hạn", "Overdue"),
    "kiosk_dossier_stale": (
        "Hệ thống hồ sơ đang tạm gián đoạn: thông tin cập nhật lúc {time}.",
        "The dossier system is temporarily unreachable: information as of {time}.",
    ),
    "kiosk_id_card_scanned": (
        "Đây là thẻ căn cước. Xin quét mã QR trên giấy tiếp nhận hồ sơ.",
        "This is an ID card. Please scan the QR code on your dossier receipt.",
    ),
    "kiosk_dossier_masked": (
        "Tên người nộp được che một phần để bảo vệ thông tin cá nhân.",
        "The applicant's name is partly hidden to protect personal data.",
    ),
    "kiosk_datetime": ("{time}, ngày {date}", "{time}, {date}"),
    "kiosk_lookup_unavailable": (
        "Ki-ốt chưa tra cứu được hồ sơ lúc này. Xin quý khách hỏi cán bộ tại quầy.",
        "Dossiers cannot be checked at this kiosk right now. Please ask at a counter.",
    ),
    "kiosk_procedure_unavailable": (
        "Ki-ốt chưa tra cứu được thủ tục lúc này. Xin quý khách hỏi cán bộ tại quầy.",
        "Procedures cannot be searched at this kiosk right now. Please ask at a counter.",
    ),
    "kiosk_scan_unknown": (
        "Không đọc được mã vừa quét. Xin quét mã trên giấy hẹn trả kết quả.",
        "The scanned code could not be read. Please scan the code on your receipt.",
    ),
    "kiosk_procedures_title": ("Tra cứu thủ tục hành chính", "Find an administrative procedure"),
    "kiosk_procedures_hint": (
        "Gõ tên thủ tục, không cần dấu. Ví dụ: dang ky khai sinh",
        "Type the procedure name; no accents needed. E.g. dang ky khai sinh",
    ),
    "kiosk_procedures_placeholder": ("Tên thủ tục…", "Procedure name…"),
    "kiosk_procedures_none": ("Không tìm thấy thủ tục “{query}”.", "No procedure matches “{query}”."),
    "kiosk_procedures_count": ("Tìm thấy {count} thủ tục", "{count} procedures found"),
    "kiosk_procedures_more": (
        "Tìm thấy {count} thủ tục, đây là {shown} thủ tục phù hợp nhất. Gõ thêm để thu hẹp.",
        "{count} procedures found; the {shown} best are shown. Type more to narrow down.",
    ),
    "kiosk_procedure_papers": ("Giấy tờ cần nộp", "Papers to bring"),
    "kiosk_procedure_fee": ("Lệ phí", "Fee"),
    "kiosk_procedure_time": ("Thời gian giải quyết", "Processing time"),
    "kiosk_procedure_agency": ("Cơ quan giải quyết", "Handled by"),
    "kiosk_procedure_paper_count": ("{count} bản", "{count} copies"),
    "kiosk_procedure_take": ("Lấy số: {service}", "Take a number: {service}"),
    "kiosk_procedure_no_service": (
        "Xin hỏi cán bộ hướng dẫn để chọn đúng quầy.",
        "Please ask staff which counter to go to.",
    ),
    "kiosk_rating_title": ("Đánh giá mức độ hài lòng", "How satisfied are you?"),
    "kiosk_rating_hint": (
        "Nhập số thứ tự trên phiếu (hoặc quét mã QR của phiếu), rồi chạm vào mức đánh giá.",
        "Type the number on your ticket (or scan its QR code), then touch your rating.",
    ),
    "kiosk_rating_placeholder": ("Số thứ tự…", "Ticket number…"),
    "kiosk_rating_enter_first": (
        "Xin nhập số thứ tự trên phiếu trước.",
        "Please type your ticket number first.",
    ),
    "kiosk_rating_thanks": ("Cảm ơn quý khách đã đánh giá!", "Thank you for your feedback!"),
    "kiosk_rating_ticket_unknown": (
        "Không tìm thấy phiếu vừa quét. Xin nhập số thứ tự trên phiếu.",
        "The scanned ticket was not found. Please type the number on your ticket.",
    ),
    "kiosk_rating_very_satisfied": ("Rất hài lòng", "Very satisfied"),
    "kiosk_rating_satisfied": ("Hài lòng", "Satisfied"),
    "kiosk_rating_neutral": ("Bình thường", "Neutral"),
    "kiosk_rating_unsatisfied": ("Không hài lòng", "Not satisfied"),
    "kiosk_rating_very_unsatisfied": ("Rất không hài lòng", "Very dissatisfied"),
    "kiosk_key_space": ("Dấu cách", "Space"),
    "kiosk_key_delete": ("⌫ Xóa", "⌫ Delete"),
    "kiosk_key_clear": ("Xóa hết", "Clear"),
    "kiosk_reconnecting_title": ("Hệ thống đang kết nối lại", "The system is reconnecting"),
    "kiosk_reconnecting_body": (
        "Xin quý khách chờ trong giây lát. Ki-ốt sẽ tự hoạt động trở lại.",
        "Please wait a moment. The kiosk will be back by itself.",
    ),
    "kiosk_locked_title": ("Ngoài giờ làm việc", "Closed"),
    "kiosk_locked_hours": ("Giờ làm việc:", "Opening hours:"),
    "kiosk_locked_holiday": ("Hôm nay nghỉ lễ: {date} {name}", "Closed today for a holiday: {date} {name}"),
    "kiosk_locked_body": (
        "Xin mời quý khách quay lại trong giờ làm việc.",
        "Please come back during opening hours.",
    ),
    "kiosk_day_mon": ("Thứ Hai", "Monday"),
    "kiosk_day_tue": ("Thứ Ba", "Tuesday"),
    "kiosk_day_wed": ("Thứ Tư", "Wednesday"),
    "kiosk_day_thu": ("Thứ Năm", "Thursday"),
    "kiosk_day_fri": ("Thứ Sáu", "Friday"),
    "kiosk_day_sat": ("Thứ Bảy", "Saturday"),
    "kiosk_day_sun": ("Chủ Nhật", "Sunday"),
    "kiosk_days_range": ("{first} – {last}", "{first} – {last}"),
    "kiosk_hours_periods": ("{days}: {periods}", "{days}: {periods}"),
    "kiosk_hours_and": (" và ", " and "),
    # Opening hours without any period (hub/site.py, kiosk/texts.py): closed every day.
    "hours_none": ("Không làm việc ngày nào", "Closed every day"),
    # hub.fleet + hub.enroll + appliance.device: enrolment, fleet page, device commands
    "fleet_health_paper": ("Giấy", "Paper"),
    "fleet_health_printer": ("Máy in", "Printer"),
    "fleet_health_scanner": ("Đầu đọc mã", "Barcode reader"),
    "fleet_health_board": ("Bảng LED", "LED board"),
    "fleet_health_audio": ("Âm thanh", "Sound"),
    "fleet_paper_ok": ("Còn giấy", "OK"),
    "fleet_paper_near_end": ("Sắp hết giấy", "Near its end"),
    "fleet_paper_out": ("Hết giấy", "Out of paper"),
    "fleet_value_unknown": ("Chưa rõ", "Unknown"),
    "fleet_printer_ready": ("Sẵn sàng", "Ready"),
    "fleet_printer_not_answering": ("Không phản hồi", "Not answering"),
    "fleet_scanner_attached": ("Đã cắm", "Attached"),
    "fleet_scanner_detached": ("Chưa cắm", "Not attached"),
    "fleet_board_connected": ("Đã kết nối", "Connected"),
    "fleet_board_error": ("Mất kết nối", "Not connected"),
    "fleet_audio_ok": ("Hoạt động", "Working"),
    "fleet_audio_missing": ("Thiếu bộ giọng đọc", "No voice pack"),
    "fleet_alert_offline": (
        "Thiết bị {device} mất kết nối từ {since} ({minutes} phút).",
        "Device {device} has been offline since {since} ({minutes} min).",
    ),
    "fleet_alert_flooding": (
        "Thiết bị {device} gửi yêu cầu dồn dập ({method}): đã từ chối {count} yêu cầu vượt hạn mức. "
        "Kiểm tra thiết bị; nếu mật khẩu bị lộ, hãy thu hồi và đăng ký lại.",
        "Device {device} is flooding the hub ({method}): {count} requests over its quota refused. "
        "Check the device; if its password leaked, revoke and re-enrol it.",
    ),
    "fleet_alert_hub_cannot_publish": (
        "Hub không gửi được tin MQTT: {backlog} tin chờ xác nhận từ {seconds} giây.",
        "The hub cannot publish over MQTT: {backlog} messages unacknowledged for {seconds} s.",
    ),
    "fleet_alert_paper_near_end": (
        "Máy in {device} sắp hết giấy: hãy chuẩn bị cuộn giấy mới.",
        "Printer {device} is nearly out of paper: get a new roll ready.",
    ),
    "fleet_alert_paper_out": (
        "Máy in {device} đã hết giấy: hãy thay cuộn giấy.",
        "Printer {device} is out of paper: put in a new roll.",
    ),
    "fleet_alert_printer_not_answering": (
        "Máy in {device} không phản hồi: kiểm tra nguồn điện và dây cáp.",
        "Printer {device} does not answer: check its power and cable.",
    ),
    "fleet_alert_scanner_detached": (
        "Đầu đọc mã {device} chưa được cắm.",
        "Barcode reader {device} is not plugged in.",
    ),
    "fleet_alert_board_error": (
        "Bảng LED của {device} không kết nối được.",
        "The LED board of {device} is not connected.",
    ),
    "fleet_alert_audio_missing": (
        "Màn hình {device} thiếu bộ giọng đọc: số sẽ không được đọc.",
        "Display {device} has no voice pack: numbers are not announced.",
    ),
    "fleet_unavailable": (
        "Chức năng quản lý thiết bị chưa được bật ở hub này.",
        "Fleet management is not enabled on this hub.",
    ),
    "fleet_unknown_device": ("Không có thiết bị “{device}”.", "There is no device “{device}”."),
    "fleet_bad_role": ("Không có loại thiết bị “{role}”.", "There is no device role “{role}”."),
    "fleet_bad_place": ("Vị trí không hợp lệ: {detail}", "Invalid place: {detail}"),
    "fleet_bad_device_id": (
        "Mã thiết bị “{device}” không hợp lệ: chỉ dùng chữ không dấu, số và - _ . (tối đa 64 ký tự).",
        "Device ID “{device}” is invalid: use letters, digits and - _ . only (at most 64 characters).",
    ),
    "fleet_id_taken": (
        "Mã thiết bị “{device}” đã được dùng. Để thay một thiết bị hỏng, hãy bấm “Thay thế” ở dòng của nó.",
        "Device ID “{device}” is already in use. To swap a broken device, press “Replace” on its row.",
    ),
    "fleet_config_invalid": ("Cấu hình không hợp lệ: {detail}", "Invalid configuration: {detail}"),
    "fleet_config_saved": (
        "Đã lưu cấu hình của {device} (phiên bản {rev}) và gửi tới thiết bị.",
        "Configuration of {device} saved (revision {rev}) and sent to the device.",
    ),
    "province_template_applied": (
        "Đã áp dụng mẫu cấu hình “{kind}” của tỉnh.",
        "The province's “{kind}” template was applied.",
    ),
    "province_template_not_accepted": (
        "Điểm một cửa này giữ cấu hình “{kind}” riêng, không nhận mẫu của tỉnh.",
        "This site keeps its own “{kind}” and does not take the province's template.",
    ),
    "province_template_invalid": (
        "Mẫu cấu hình “{kind}” không hợp lệ: {detail}.",
        "The “{kind}” template is not valid: {detail}.",
    ),
    "province_template_unknown": (
        "Không biết loại mẫu cấu hình “{kind}”.",
        "Unknown kind of template “{kind}”.",
    ),
    "province_template_no_service": (
        "Mẫu cấu hình “{kind}” không nói tới lĩnh vực nào của điểm này ({services}).",
        "The “{kind}” template names none of this site's services ({services}).",
    ),
    "province_template_conflict": (
        "Mẫu cấu hình của tỉnh không hợp với cấu hình của điểm này: {detail}.",
        "The province's template does not fit this site's configuration: {detail}.",
    ),
    "province_template_locked": (
        "“{field}” do mẫu cấu hình “{template}” của tỉnh quy định, điểm không được sửa.",
        "“{field}” is set by the province's template “{template}” and may not be changed here.",
    ),
    "fleet_command_sent": ("Đã gửi lệnh “{command}” tới {device}.", "Command “{command}” sent to {device}."),
    "fleet_command_sent_offline": (
        "Đã gửi lệnh “{command}” tới {device}, nhưng thiết bị đang mất kết nối: "
        "lệnh sẽ hết hạn sau {seconds} giây.",
        "Command “{command}” sent to {device}, but it is offline: the command expires in {seconds} s.",
    ),
    "fleet_test_print_sent": (
        "Đã gửi trang in thử tới máy in {device}.",
        "Test page sent to printer {device}.",
    ),
    "fleet_unknown_command": ("Không có lệnh “{command}”.", "There is no command “{command}”."),
    "fleet_command_unsupported": (
        "Thiết bị không hỗ trợ lệnh “{command}”.",
        "The device does not support the command “{command}”.",
    ),
    "fleet_command_failed": (
        "Lệnh “{command}” không thực hiện được: {detail}",
        "Command “{command}” failed: {detail}",
    ),
    "fleet_revoked": (
        "Đã thu hồi {device}: thiết bị bị ngắt kết nối và không thể kết nối lại.",
        "{device} was revoked: it was disconnected and cannot connect again.",
    ),
    "fleet_rating_needs_token": (
        "Thiết bị {device} chỉ ghi nhận đánh giá khi quét mã QR trên phiếu của chính người đánh giá.",
        "Device {device} may record a rating only with the ticket's own QR code scanned.",
    ),
    "fleet_not_your_ticket": (
        "Thiết bị {device} chỉ được thao tác với phiếu của quầy {own}.",
        "Device {device} may act only on tickets of counter {own}.",
    ),
    "fleet_not_your_counter": (
        "Thiết bị {device} chỉ được thao tác cho quầy {own}, không phải quầy {counter}.",
        "Device {device} may act only for counter {own}, not for counter {counter}.",
    ),
    "fleet_not_enrolled": (
        "Thiết bị {device} chưa được đăng ký với hub hoặc đã bị thu hồi.",
        "Device {device} is not enrolled with the hub or was revoked.",
    ),
    "fleet_broker_error": (
        "Không thay đổi được tài khoản kết nối trên máy chủ MQTT: {detail}",
        "The broker account could not be changed: {detail}",
    ),
    "enrol_code_malformed": (
        "Mã đăng ký gồm 12 ký tự, dạng XXXX-XXXX-XXXX. Hãy nhập lại.",
        "An enrolment code has 12 characters, like XXXX-XXXX-XXXX. Please type it again.",
    ),
    "enrol_code_unknown": (
        "Mã đăng ký không đúng hoặc đã bị hủy. Hãy kiểm tra lại mã trên trang Thiết bị của hub.",
        "This enrolment code is wrong or was cancelled. Check the code on the hub's Devices page.",
    ),
    "enrol_code_used": (
        "Mã đăng ký này đã được dùng lúc {used_at}; mỗi mã chỉ dùng được một lần. "
        "Hãy tạo mã mới trên trang Thiết bị của hub.",
        "This enrolment code was already used at {used_at}; each code works only once. "
        "Make a new one on the hub's Devices page.",
    ),
    "enrol_code_expired": (
        "Mã đăng ký đã hết hạn lúc {expired_at}. Hãy tạo mã mới trên trang Thiết bị của hub.",
        "This enrolment code expired at {expired_at}. Make a new one on the hub's Devices page.",
    ),
    "enrol_too_many": (
        "Nhập sai mã quá nhiều lần. Hãy thử lại sau {minutes} phút.",
        "Too many wrong codes. Try again in {minutes} minutes.",
    ),
    "enrol_unavailable": (
        "Hub chưa tạo được tài khoản kết nối cho thiết bị ({detail}). Mã vẫn còn dùng được, hãy thử lại sau.",
        "The hub could not create the device's broker account ({detail}). The code still works; try later.",
    ),
    "enrol_hub_unreachable": (
        "Không kết nối được tới hub {url}: {detail}",
        "Cannot reach the hub at {url}: {detail}",
    ),
    "enrol_ca_mismatch": (
        "Chứng chỉ của hub không khớp mã SHA-256 đã cho ({got}). Không gửi mã: có thể có kẻ giả mạo hub.",
        "The hub's certificate does not match the given SHA-256 ({got}). The code was not sent: "
        "something may be impersonating the hub.",
    ),
    "enrol_tls_failed": (
        "Không xác minh được chứng chỉ HTTPS của hub ({detail}). Dùng --ca-sha256 in trên trang Thiết bị.",
        "The hub's HTTPS certificate could not be verified ({detail}). Use the --ca-sha256 shown on "
        "the Devices page.",
    ),
    "enrol_plain_http": (
        "Cảnh báo: {url} là HTTP không mã hoá; mật khẩu kết nối của thiết bị sẽ đi qua mạng ở dạng rõ.",
        "Warning: {url} is plain HTTP; the device's broker password crosses the network in clear.",
    ),
    "enrol_bad_reply": ("Hub trả lời không hợp lệ: {detail}", "The hub's answer is not valid: {detail}"),
    "enrol_done": (
        "Đã đăng ký thiết bị {device} ({role}) tại điểm {site}.",
        "Device {device} ({role}) is enrolled at site {site}.",
    ),
    "enrol_written": ("Đã ghi cấu hình vào {path}.", "Configuration written to {path}."),
    "enrol_backup": ("Cấu hình cũ được giữ lại ở {path}.", "The previous configuration was kept as {path}."),
    "enrol_enable": (
        "Bật dịch vụ: sudo systemctl enable --now {unit}",
        "Enable the service: sudo systemctl enable --now {unit}",
    ),
    "enrol_cannot_write": ("Không ghi được {path}: {detail}", "Cannot write {path}: {detail}"),
    "enrol_config_warning": (
        "Lưu ý: cần chỉnh thêm cấu hình trước khi chạy dịch vụ: {detail}",
        "Note: the configuration needs editing before the service can run: {detail}",
    ),
    # hub.central.results + hub.web results + queue_display: results ready for collection
    "results_title": ("HỒ SƠ ĐÃ CÓ KẾT QUẢ", "RESULTS READY FOR COLLECTION"),
    "results_hint": (
        "Quý khách có hồ sơ trong danh sách xin lấy số “Trả kết quả” tại ki-ốt.",
        "If your dossier is listed, please take a “Result collection” number at the kiosk.",
    ),
    "results_code": ("Mã hồ sơ", "Dossier code"),
    "results_procedure": ("Thủ tục", "Procedure"),
    "results_applicant": ("Người nộp", "Applicant"),
    "results_ready_since": ("Có kết quả từ", "Ready since"),
    "results_new": ("MỚI", "NEW"),
    "results_overdue": ("Quá {days} ngày chưa nhận", "Not collected for {days} days"),
    "results_days_waiting": ("{days} ngày", "{days} days"),
    "results_count": ("{count} hồ sơ", "{count} dossiers"),
    "results_empty": (
        "Hiện chưa có hồ sơ nào chờ trả kết quả.",
        "No results are waiting for collection at the moment.",
    ),
    "results_loading": (
        "Đang tải danh sách từ hệ thống quản lý hồ sơ…",
        "Loading the list from the dossier system…",
    ),
    "results_stale": (
        "Chưa cập nhật được từ hệ thống quản lý hồ sơ — danh sách lúc {time}",
        "The dossier system cannot be reached — list as of {time}",
    ),
    "results_unavailable": (
        "Điểm này chưa có danh sách hồ sơ đã có kết quả.",
        "This site has no list of results ready.",
    ),
    "result_take_number": ("Lấy số nhận kết quả", "Take a number to collect the result"),
    "result_ready_notice": (
        "Hồ sơ đã có kết quả. Mời quý khách lấy số để nhận kết quả.",
        "The result is ready. Please take a number to collect it.",
    ),
    "result_desk_title": ("Hồ sơ trả kết quả", "Result to hand over"),
    "result_returned_button": ("Đã trả kết quả", "Result handed over"),
    "result_returned_at": ("Đã trả kết quả lúc {time} — {officer}", "Handed over at {time} — {officer}"),
    "result_returned_ok": (
        "Đã ghi nhận trả kết quả hồ sơ {code}.",
        "Recorded: the result of {code} was handed over.",
    ),
    "result_already_returned": (
        "Hồ sơ {code} đã được ghi nhận trả kết quả lúc {time}.",
        "The result of {code} was already recorded as handed over at {time}.",
    ),
    "result_no_ticket": (
        "Hãy gọi một số “Trả kết quả” trước.",
        "Call a “Result collection” number first.",
    ),
    "result_not_linked": (
        "Số {number} chưa gắn với hồ sơ nào: hãy nhập mã hồ sơ trên giấy hẹn.",
        "Number {number} is not linked to a dossier: type the code from the receipt.",
    ),
    "result_link_prompt": ("Mã hồ sơ trên giấy hẹn", "Dossier code on the receipt"),
    "result_link_button": ("Gắn hồ sơ", "Link the dossier"),
    "result_not_ready": (
        "Hồ sơ chưa ở trạng thái chờ trả kết quả.",
        "The dossier is not waiting for collection.",
    ),
    "result_stale": (
        "Thông tin hồ sơ lấy từ bộ nhớ tạm: hệ thống quản lý hồ sơ chưa trả lời.",
        "Dossier data from the cache: the dossier system does not answer.",
    ),
    "result_applicant_id": ("Số CCCD", "ID number"),
    "result_overdue_title": ("Quá hạn chưa nhận kết quả (từ {days} ngày)", "Not collected for {days}+ days"),
    "result_overdue_none": ("Không có hồ sơ nào quá hạn nhận.", "No result is overdue for collection."),
    "result_desk_unavailable": (
        "Quầy này không trả kết quả hồ sơ.",
        "This counter does not hand over results.",
    ),
    # device commands in the daemons (ticket_printer, barcode_reader, led_board, queue_display, kiosk):
    # identify, reload and live configuration pushed by the hub
    "device_identify_title": ("Thiết bị {device}", "Device {device}"),
    "device_stopping": ("thiết bị đang dừng", "the device is stopping"),
    "device_identify_slip_title": ("NHẬN DIỆN THIẾT BỊ", "DEVICE IDENTIFICATION"),
    "device_identify_site": ("Điểm: {site}", "Site: {site}"),
    "device_identify_time": ("Lúc: {time}", "Time: {time}"),
    "device_identify_hint": (
        "Kỹ thuật viên đang nhận diện thiết bị từ trang Thiết bị của hub.",
        "A technician is identifying this device from the hub's Devices page.",
    ),
    "device_config_unreadable": (
        "không đọc được tệp cấu hình {path}: {detail}",
        "cannot read the configuration file {path}: {detail}",
    ),
    "device_config_refused": (
        "cấu hình bị từ chối, thiết bị giữ cấu hình đang chạy — {detail}",
        "configuration refused, the device keeps the one it runs — {detail}",
    ),
    "demo_screen_absent": (
        "Màn hình {device} không chạy (xem nhật ký {device}.log trong thư mục dữ liệu của demo).",
        "The {device} screen is not running (see {device}.log in the demo's data folder).",
    ),
}

# Ticket statuses as people read them.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "waiting": ("Đang chờ", "Waiting"),
    "called": ("Đã gọi", "Called"),
    "serving": ("Đang phục vụ", "Being served"),
    "completed": ("Đã hoàn thành", "Completed"),
    "skipped": ("Vắng mặt", "Did not show up"),
    "held": ("Tạm giữ", "On hold"),
    "cancelled": ("Đã hủy", "Cancelled"),
}

# Priority groups a citizen may claim at the kiosk (the wire uses the keys).
PRIORITY_GROUPS: dict[str, tuple[str, str]] = {
    "elderly": ("Người cao tuổi", "Elderly person"),
    "disabled": ("Người khuyết tật", "Person with a disability"),
    "pregnant": ("Phụ nữ mang thai", "Pregnant woman"),
    "merit": ("Người có công với cách mạng", "Person of merit to the revolution"),
    "child": ("Người đi cùng trẻ em dưới 6 tuổi", "Accompanying a child under 6"),
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
    "resume": ("tiếp tục phục vụ", "resume it"),
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
