"""Sample print jobs as the hub sends them (ticket, receipt), shared by the printer tests."""

from __future__ import annotations

import copy
from typing import Any

TICKET_JOB: dict[str, Any] = {
    "v": 1,
    "job_id": "tk-0001",
    "kind": "ticket",
    "site_name": "Trung tâm Phục vụ hành chính công tỉnh Đồng Nai",
    "ticket": {
        "id": "t-1",
        "number": "A023",
        "service_id": "tu-phap",
        "service_name": "Tư pháp - Hộ tịch",
        "priority": True,
        "priority_group": "elderly",
        "status": "waiting",
        "issued_at": "2023-10-27T09:32:05+07:00",
        "called_at": None,
        "counter_id": None,
        "completed_at": None,
        "token": "Xk3f9QpL2m",
        "ahead": 5,
        "estimated_wait_s": 780,
    },
    "ticket_url": "http://hub.local:8080/t/Xk3f9QpL2m",
    "footer": "Cảm ơn Ông/Bà đã sử dụng dịch vụ",
}

RECEIPT_JOB: dict[str, Any] = {
    "v": 1,
    "job_id": "rc-0001",
    "kind": "receipt",
    "receipt": {
        "agency": "UBND huyện Long Thành",
        "agency_unit": "Bộ phận tiếp nhận và trả kết quả",
        "dossier_code": "000.00.06.H56-231027-0361",
        "applicant": {
            "name": "Nguyễn Thị Ngọc Ánh",
            "address": "Số 12, đường Lê Duẩn, thị trấn Long Thành, tỉnh Đồng Nai",
            "phone": "0912 345 678",
            "id_number": "075123456789",
        },
        "procedure": "Đăng ký khai sinh",
        "papers": [
            {"name": "Tờ khai đăng ký khai sinh theo mẫu", "count": 1, "note": "bản chính"},
            {"name": "Giấy chứng sinh", "count": 1},
            {"name": "Giấy chứng nhận kết hôn của cha mẹ", "count": 2, "note": "bản sao chứng thực"},
        ],
        "processing_time": "5 ngày làm việc",
        "received_at": "2023-10-27T09:32:00+07:00",
        "appointment_at": "2023-11-03T09:00:00+07:00",
        "result_place": "Quầy số 3",
        "lookup_url": "https://dichvucong.dongnai.gov.vn",
        "hotline": "1900 1234",
        "officer": "Trần Văn Bình",
        "qr_data": "https://dichvucong.dongnai.gov.vn/tra-cuu?code=000.00.06.H56-231027-0361",
    },
}


def ticket_job(job_id: str = "tk-0001", number: str = "A023", **ticket: Any) -> dict[str, Any]:
    job = copy.deepcopy(TICKET_JOB)
    job["job_id"] = job_id
    job["ticket"].update(number=number, **ticket)
    return job


def receipt_job(job_id: str = "rc-0001", **receipt: Any) -> dict[str, Any]:
    job = copy.deepcopy(RECEIPT_JOB)
    job["job_id"] = job_id
    job["receipt"].update(receipt)
    return job
