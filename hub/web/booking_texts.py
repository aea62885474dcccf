"""Words of the booking pages (Vietnamese first, English available)."""

from __future__ import annotations

from .texts import Language, WordTable, catalogue

TEXTS: WordTable = {
    "title": ("Đặt lịch lấy số", "Book a queue number"),
    "lead": (
        "Chọn dịch vụ, ngày và giờ. Đến nơi, quét mã QR ở ki-ốt hoặc nhập mã đặt lịch để lấy số.",
        "Choose a service, a day and a time. On arrival, scan the QR code at the kiosk or type the "
        "booking code to get your number.",
    ),
    "service": ("Dịch vụ", "Service"),
    "day": ("Ngày", "Day"),
    "slot": ("Giờ", "Time"),
    "free": ("còn {n} chỗ", "{n} left"),
    "full": ("hết chỗ", "full"),
    "no_slots": ("Ngày này không còn giờ trống.", "No free time on this day."),
    "who": ("Xác nhận bằng", "Identify with"),
    "phone": ("Số điện thoại", "Mobile number"),
    "id_no": ("Số CCCD", "ID card number"),
    "send_otp": ("Gửi mã xác nhận", "Send a code"),
    "otp": ("Mã xác nhận (SMS)", "Code (SMS)"),
    "otp_sent": ("Đã gửi mã tới số điện thoại của bạn.", "A code was sent to your phone."),
    "submit": ("Đặt lịch", "Book"),
    "done": ("Đặt lịch thành công", "Booked"),
    "code": ("Mã đặt lịch", "Booking code"),
    "show_qr": (
        "Đưa mã QR này vào máy quét của ki-ốt khi đến nơi.",
        "Show this QR code to the kiosk's scanner when you arrive.",
    ),
    "open": ("Xem / huỷ lịch", "View / cancel"),
    "cancel": ("Huỷ lịch", "Cancel booking"),
    "cancelled": ("Lịch đã huỷ.", "Booking cancelled."),
    "check_in": ("Lấy số ngay (khi đã ở trong trung tâm)", "Get my number now (inside the centre)"),
    "status_booked": ("Đã đặt", "Booked"),
    "status_cancelled": ("Đã huỷ", "Cancelled"),
    "status_checked_in": ("Đã lấy số", "Checked in"),
    "status_no_show": (
        "Đã quá giờ — bạn vẫn có thể lấy số như người đến trực tiếp",
        "Missed — you can still take a number as a walk-in",
    ),
    "your_ticket": ("Xem số của bạn", "See your number"),
    "late_rule": (
        "Đến trễ quá {minutes} phút sau giờ hẹn, bạn được xếp như người đến trực tiếp.",
        "More than {minutes} minutes late, you queue as a walk-in.",
    ),
    "error": ("Có lỗi, xin thử lại.", "Something went wrong, please try again."),
    "date": ("Ngày", "Date"),
}


def booking_texts(lang: Language) -> dict[str, str]:
    return catalogue(TEXTS, lang)
