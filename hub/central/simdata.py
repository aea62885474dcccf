"""Seeded, realistic data for the central-system simulator (`motcua central-sim`).

Procedure names, fields, papers, fees and processing times follow the district-level catalogue a
one-stop shop publishes (hộ tịch, chứng thực, đất đai, xây dựng, …). Procedure codes, agency codes
and every person are invented: the simulator must never look like it holds real citizens' data.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from appliance.timeutil import SITE_TZ

from .model import format_opencps_time

# Invented agency codes in the TT 01/2018 shape (V1V2V3.Z1Z2.Y1Y2.MX1X2).
DISTRICT_AGENCY = ("000.00.16.H19", "UBND huyện Long Thành")
COMMUNE_AGENCIES = (
    ("000.21.16.H19", "UBND thị trấn Long Thành"),
    ("000.22.16.H19", "UBND xã An Phước"),
    ("000.23.16.H19", "UBND xã Long An"),
    ("000.24.16.H19", "UBND xã Bình Sơn"),
)

# field code, field name, [(procedure name, processing time, working days, fee, level, papers)]
# A paper is (name, copies, note).
Paper = tuple[str, int, str]
CATALOGUE: list[tuple[str, str, list[tuple[str, str, int, str, int, list[Paper]]]]] = [
    (
        "HT",
        "Hộ tịch",
        [
            (
                "Đăng ký khai sinh",
                "Ngay trong ngày làm việc",
                0,
                "Miễn lệ phí",
                4,
                [
                    ("Tờ khai đăng ký khai sinh", 1, "bản chính"),
                    ("Giấy chứng sinh", 1, "bản chính"),
                    ("Giấy tờ tùy thân của người đi đăng ký", 1, "xuất trình"),
                ],
            ),
            (
                "Đăng ký kết hôn",
                "Ngay trong ngày làm việc",
                0,
                "Miễn lệ phí",
                3,
                [
                    ("Tờ khai đăng ký kết hôn", 1, "bản chính"),
                    ("Giấy xác nhận tình trạng hôn nhân", 1, "bản chính"),
                    ("Căn cước công dân của hai bên nam, nữ", 2, "xuất trình"),
                ],
            ),
            (
                "Đăng ký khai tử",
                "Ngay trong ngày làm việc",
                0,
                "Miễn lệ phí",
                4,
                [("Tờ khai đăng ký khai tử", 1, "bản chính"), ("Giấy báo tử", 1, "bản chính")],
            ),
            (
                "Đăng ký nhận cha, mẹ, con",
                "03 ngày làm việc",
                3,
                "15.000 đồng",
                3,
                [
                    ("Tờ khai đăng ký nhận cha, mẹ, con", 1, "bản chính"),
                    ("Văn bản giám định ADN hoặc chứng cứ chứng minh quan hệ cha, mẹ, con", 1, "bản sao"),
                ],
            ),
            (
                "Cấp bản sao trích lục hộ tịch",
                "Ngay trong ngày làm việc",
                0,
                "8.000 đồng/bản",
                4,
                [("Tờ khai cấp bản sao trích lục hộ tịch", 1, "bản chính")],
            ),
            (
                "Cấp Giấy xác nhận tình trạng hôn nhân",
                "03 ngày làm việc",
                3,
                "Miễn lệ phí",
                4,
                [
                    ("Tờ khai cấp Giấy xác nhận tình trạng hôn nhân", 1, "bản chính"),
                    ("Bản án, quyết định ly hôn (nếu đã ly hôn)", 1, "bản sao"),
                ],
            ),
            (
                "Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
                "03 ngày làm việc",
                3,
                "28.000 đồng",
                3,
                [
                    ("Tờ khai đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch", 1, "bản chính"),
                    ("Giấy khai sinh cần cải chính", 1, "bản chính"),
                ],
            ),
            (
                "Đăng ký khai sinh có yếu tố nước ngoài",
                "03 ngày làm việc",
                3,
                "75.000 đồng",
                3,
                [
                    ("Tờ khai đăng ký khai sinh", 1, "bản chính"),
                    ("Giấy chứng sinh", 1, "bản chính"),
                    ("Văn bản thỏa thuận chọn quốc tịch cho con", 1, "bản chính"),
                ],
            ),
            (
                "Đăng ký kết hôn có yếu tố nước ngoài",
                "15 ngày làm việc",
                15,
                "1.500.000 đồng",
                3,
                [
                    ("Tờ khai đăng ký kết hôn", 1, "bản chính"),
                    ("Giấy xác nhận không mắc bệnh tâm thần", 2, "bản chính"),
                    ("Hộ chiếu của người nước ngoài", 1, "bản sao chứng thực"),
                ],
            ),
            (
                "Đăng ký giám hộ",
                "03 ngày làm việc",
                3,
                "Miễn lệ phí",
                3,
                [("Tờ khai đăng ký giám hộ", 1, "bản chính"), ("Văn bản cử người giám hộ", 1, "bản chính")],
            ),
        ],
    ),
    (
        "CT",
        "Chứng thực",
        [
            (
                "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
                "Ngay trong ngày làm việc",
                0,
                "2.000 đồng/trang",
                2,
                [
                    ("Bản chính giấy tờ, văn bản cần chứng thực", 1, "bản chính"),
                    ("Bản sao cần chứng thực", 1, ""),
                ],
            ),
            (
                "Chứng thực chữ ký trong các giấy tờ, văn bản",
                "Ngay trong ngày làm việc",
                0,
                "10.000 đồng/trường hợp",
                2,
                [
                    ("Giấy tờ, văn bản cần chứng thực chữ ký", 1, "bản chính"),
                    ("Căn cước công dân", 1, "xuất trình"),
                ],
            ),
            (
                "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản",
                "02 ngày làm việc",
                2,
                "50.000 đồng/hợp đồng",
                2,
                [
                    ("Dự thảo hợp đồng, giao dịch", 1, "bản chính"),
                    ("Giấy tờ chứng minh quyền sở hữu tài sản", 1, "bản sao"),
                ],
            ),
            (
                "Chứng thực văn bản thỏa thuận phân chia di sản",
                "02 ngày làm việc",
                2,
                "50.000 đồng/văn bản",
                2,
                [
                    ("Dự thảo văn bản thỏa thuận phân chia di sản", 1, "bản chính"),
                    ("Giấy chứng tử của người để lại di sản", 1, "bản sao"),
                ],
            ),
            (
                "Chứng thực việc sửa đổi, bổ sung, hủy bỏ hợp đồng, giao dịch",
                "02 ngày làm việc",
                2,
                "30.000 đồng/hợp đồng",
                2,
                [
                    ("Dự thảo văn bản sửa đổi, bổ sung, hủy bỏ", 1, "bản chính"),
                    ("Hợp đồng đã được chứng thực", 1, "bản chính"),
                ],
            ),
            (
                "Chứng thực bản sao từ bản chính giấy tờ do cơ quan nước ngoài cấp",
                "02 ngày làm việc",
                2,
                "2.000 đồng/trang",
                2,
                [("Bản chính giấy tờ đã được hợp pháp hóa lãnh sự", 1, "bản chính")],
            ),
        ],
    ),
    (
        "DD",
        "Đất đai",
        [
            (
                "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất"
                " lần đầu",
                "20 ngày làm việc",
                20,
                "100.000 đồng",
                3,
                [
                    ("Đơn đăng ký đất đai, tài sản gắn liền với đất (Mẫu số 04/ĐK)", 1, "bản chính"),
                    ("Giấy tờ về quyền sử dụng đất", 1, "bản sao"),
                    ("Sơ đồ nhà ở, công trình xây dựng", 1, "bản chính"),
                ],
            ),
            (
                "Đăng ký biến động quyền sử dụng đất do chuyển nhượng, tặng cho, thừa kế",
                "10 ngày làm việc",
                10,
                "50.000 đồng",
                3,
                [
                    ("Đơn đăng ký biến động đất đai, tài sản gắn liền với đất", 1, "bản chính"),
                    ("Hợp đồng chuyển nhượng, tặng cho đã công chứng, chứng thực", 1, "bản chính"),
                    ("Giấy chứng nhận đã cấp", 1, "bản gốc"),
                ],
            ),
            (
                "Tách thửa hoặc hợp thửa đất",
                "15 ngày làm việc",
                15,
                "50.000 đồng",
                3,
                [
                    ("Đơn đề nghị tách thửa, hợp thửa đất", 1, "bản chính"),
                    ("Giấy chứng nhận đã cấp", 1, "bản gốc"),
                ],
            ),
            (
                "Chuyển mục đích sử dụng đất phải được phép của cơ quan nhà nước có thẩm quyền",
                "15 ngày làm việc",
                15,
                "Theo quy định của HĐND tỉnh",
                3,
                [
                    ("Đơn xin chuyển mục đích sử dụng đất", 1, "bản chính"),
                    ("Giấy chứng nhận đã cấp", 1, "bản gốc"),
                ],
            ),
            (
                "Cấp đổi Giấy chứng nhận quyền sử dụng đất",
                "07 ngày làm việc",
                7,
                "50.000 đồng",
                3,
                [
                    ("Đơn đề nghị cấp đổi Giấy chứng nhận", 1, "bản chính"),
                    ("Giấy chứng nhận đã cấp", 1, "bản gốc"),
                ],
            ),
            (
                "Cấp lại Giấy chứng nhận quyền sử dụng đất do bị mất",
                "10 ngày làm việc",
                10,
                "50.000 đồng",
                3,
                [
                    ("Đơn đề nghị cấp lại Giấy chứng nhận", 1, "bản chính"),
                    ("Giấy xác nhận của UBND cấp xã về việc niêm yết thông báo mất giấy", 1, "bản chính"),
                ],
            ),
            (
                "Đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất",
                "Trong ngày làm việc",
                0,
                "80.000 đồng",
                4,
                [("Phiếu yêu cầu đăng ký thế chấp", 1, "bản chính"), ("Hợp đồng thế chấp", 1, "bản chính")],
            ),
            (
                "Xóa đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất",
                "Trong ngày làm việc",
                0,
                "20.000 đồng",
                4,
                [
                    ("Phiếu yêu cầu xóa đăng ký thế chấp", 1, "bản chính"),
                    ("Văn bản đồng ý xóa thế chấp", 1, "bản chính"),
                ],
            ),
            (
                "Đính chính Giấy chứng nhận đã cấp",
                "10 ngày làm việc",
                10,
                "Miễn lệ phí",
                3,
                [
                    ("Đơn đề nghị đính chính Giấy chứng nhận", 1, "bản chính"),
                    ("Giấy chứng nhận đã cấp", 1, "bản gốc"),
                ],
            ),
        ],
    ),
    (
        "XD",
        "Xây dựng",
        [
            (
                "Cấp giấy phép xây dựng nhà ở riêng lẻ",
                "15 ngày làm việc",
                15,
                "75.000 đồng",
                3,
                [
                    ("Đơn đề nghị cấp giấy phép xây dựng", 1, "bản chính"),
                    ("Giấy tờ chứng minh quyền sử dụng đất", 1, "bản sao"),
                    ("Bản vẽ thiết kế xây dựng", 2, "bản chính"),
                ],
            ),
            (
                "Cấp giấy phép sửa chữa, cải tạo công trình",
                "15 ngày làm việc",
                15,
                "75.000 đồng",
                3,
                [
                    ("Đơn đề nghị cấp giấy phép sửa chữa, cải tạo", 1, "bản chính"),
                    ("Ảnh chụp hiện trạng công trình", 1, ""),
                ],
            ),
            (
                "Điều chỉnh giấy phép xây dựng",
                "10 ngày làm việc",
                10,
                "15.000 đồng",
                3,
                [
                    ("Đơn đề nghị điều chỉnh giấy phép xây dựng", 1, "bản chính"),
                    ("Giấy phép xây dựng đã cấp", 1, "bản chính"),
                ],
            ),
            (
                "Gia hạn giấy phép xây dựng",
                "05 ngày làm việc",
                5,
                "15.000 đồng",
                3,
                [
                    ("Đơn đề nghị gia hạn giấy phép xây dựng", 1, "bản chính"),
                    ("Giấy phép xây dựng đã cấp", 1, "bản chính"),
                ],
            ),
            (
                "Cấp lại giấy phép xây dựng",
                "05 ngày làm việc",
                5,
                "15.000 đồng",
                3,
                [("Đơn đề nghị cấp lại giấy phép xây dựng", 1, "bản chính")],
            ),
            (
                "Cấp giấy phép di dời công trình",
                "15 ngày làm việc",
                15,
                "75.000 đồng",
                2,
                [
                    ("Đơn đề nghị cấp giấy phép di dời công trình", 1, "bản chính"),
                    ("Phương án di dời", 1, "bản chính"),
                ],
            ),
        ],
    ),
    (
        "KD",
        "Thành lập và hoạt động của hộ kinh doanh",
        [
            (
                "Đăng ký thành lập hộ kinh doanh",
                "03 ngày làm việc",
                3,
                "100.000 đồng",
                4,
                [
                    ("Giấy đề nghị đăng ký hộ kinh doanh", 1, "bản chính"),
                    ("Bản sao giấy tờ pháp lý của cá nhân", 1, "bản sao"),
                ],
            ),
            (
                "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
                "03 ngày làm việc",
                3,
                "50.000 đồng",
                4,
                [("Thông báo thay đổi nội dung đăng ký hộ kinh doanh", 1, "bản chính")],
            ),
            (
                "Tạm ngừng hoạt động hộ kinh doanh",
                "03 ngày làm việc",
                3,
                "Miễn lệ phí",
                4,
                [("Thông báo tạm ngừng kinh doanh", 1, "bản chính")],
            ),
            (
                "Chấm dứt hoạt động hộ kinh doanh",
                "03 ngày làm việc",
                3,
                "Miễn lệ phí",
                4,
                [
                    ("Thông báo chấm dứt hoạt động hộ kinh doanh", 1, "bản chính"),
                    ("Giấy chứng nhận đăng ký hộ kinh doanh", 1, "bản gốc"),
                ],
            ),
            (
                "Cấp lại Giấy chứng nhận đăng ký hộ kinh doanh",
                "03 ngày làm việc",
                3,
                "50.000 đồng",
                4,
                [("Giấy đề nghị cấp lại Giấy chứng nhận đăng ký hộ kinh doanh", 1, "bản chính")],
            ),
            (
                "Đăng ký thành lập hợp tác xã",
                "05 ngày làm việc",
                5,
                "100.000 đồng",
                3,
                [
                    ("Giấy đề nghị đăng ký hợp tác xã", 1, "bản chính"),
                    ("Điều lệ hợp tác xã", 1, "bản chính"),
                    ("Danh sách thành viên", 1, "bản chính"),
                ],
            ),
        ],
    ),
    (
        "LDTBXH",
        "Bảo trợ xã hội",
        [
            (
                "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hàng tháng",
                "20 ngày làm việc",
                20,
                "Miễn lệ phí",
                3,
                [
                    ("Tờ khai đề nghị trợ giúp xã hội", 1, "bản chính"),
                    ("Giấy xác nhận khuyết tật (nếu có)", 1, "bản sao"),
                ],
            ),
            (
                "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội",
                "05 ngày làm việc",
                5,
                "Miễn lệ phí",
                3,
                [
                    ("Tờ khai đề nghị hỗ trợ chi phí mai táng", 1, "bản chính"),
                    ("Giấy chứng tử", 1, "bản sao"),
                ],
            ),
            (
                "Xác định, xác định lại mức độ khuyết tật và cấp Giấy xác nhận khuyết tật",
                "25 ngày làm việc",
                25,
                "Miễn lệ phí",
                3,
                [("Đơn đề nghị xác định mức độ khuyết tật", 1, "bản chính"), ("Hồ sơ bệnh án", 1, "bản sao")],
            ),
            (
                "Đăng ký hoạt động đối với cơ sở trợ giúp xã hội dưới 10 đối tượng",
                "05 ngày làm việc",
                5,
                "Miễn lệ phí",
                2,
                [
                    ("Tờ khai đăng ký hoạt động", 1, "bản chính"),
                    ("Quy chế hoạt động của cơ sở", 1, "bản chính"),
                ],
            ),
        ],
    ),
    (
        "NCC",
        "Người có công",
        [
            (
                "Giải quyết chế độ trợ cấp thờ cúng liệt sĩ",
                "12 ngày làm việc",
                12,
                "Miễn lệ phí",
                3,
                [
                    ("Bản khai đề nghị trợ cấp thờ cúng liệt sĩ", 1, "bản chính"),
                    ("Bằng Tổ quốc ghi công", 1, "bản sao"),
                ],
            ),
            (
                "Cấp giấy giới thiệu đi thăm viếng mộ liệt sĩ và hỗ trợ thăm viếng mộ liệt sĩ",
                "05 ngày làm việc",
                5,
                "Miễn lệ phí",
                3,
                [("Đơn đề nghị thăm viếng mộ liệt sĩ", 1, "bản chính")],
            ),
            (
                "Giải quyết chế độ mai táng phí đối với người có công với cách mạng",
                "10 ngày làm việc",
                10,
                "Miễn lệ phí",
                3,
                [("Bản khai của thân nhân", 1, "bản chính"), ("Giấy chứng tử", 1, "bản sao")],
            ),
        ],
    ),
    (
        "GD",
        "Giáo dục và Đào tạo",
        [
            (
                "Chuyển trường đối với học sinh trung học cơ sở",
                "03 ngày làm việc",
                3,
                "Miễn lệ phí",
                3,
                [("Đơn xin chuyển trường", 1, "bản chính"), ("Học bạ", 1, "bản chính")],
            ),
            (
                "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc",
                "Ngay trong ngày làm việc",
                0,
                "Miễn lệ phí",
                4,
                [("Đơn đề nghị cấp bản sao văn bằng, chứng chỉ", 1, "bản chính")],
            ),
            (
                "Chỉnh sửa nội dung văn bằng, chứng chỉ",
                "05 ngày làm việc",
                5,
                "Miễn lệ phí",
                3,
                [
                    ("Đơn đề nghị chỉnh sửa văn bằng, chứng chỉ", 1, "bản chính"),
                    ("Văn bằng cần chỉnh sửa", 1, "bản chính"),
                ],
            ),
            (
                "Cho phép trường mầm non tư thục hoạt động giáo dục",
                "20 ngày làm việc",
                20,
                "Miễn lệ phí",
                2,
                [
                    ("Tờ trình đề nghị cho phép hoạt động giáo dục", 1, "bản chính"),
                    ("Quyết định thành lập trường", 1, "bản sao"),
                ],
            ),
            (
                "Xét, duyệt chính sách hỗ trợ đối với học sinh bán trú",
                "10 ngày làm việc",
                10,
                "Miễn lệ phí",
                2,
                [("Đơn đề nghị hỗ trợ", 1, "bản chính")],
            ),
        ],
    ),
    (
        "VH",
        "Văn hóa",
        [
            (
                "Cấp Giấy phép đủ điều kiện kinh doanh dịch vụ karaoke",
                "05 ngày làm việc",
                5,
                "4.000.000 đồng",
                3,
                [
                    ("Đơn đề nghị cấp giấy phép", 1, "bản chính"),
                    ("Giấy chứng nhận đăng ký kinh doanh", 1, "bản sao"),
                ],
            ),
            (
                "Thông báo tổ chức lễ hội",
                "05 ngày làm việc",
                5,
                "Miễn lệ phí",
                2,
                [("Văn bản thông báo tổ chức lễ hội", 1, "bản chính")],
            ),
            (
                "Xét tặng danh hiệu Gia đình văn hóa hằng năm",
                "05 ngày làm việc",
                5,
                "Miễn lệ phí",
                2,
                [("Bản đăng ký danh hiệu Gia đình văn hóa", 1, "bản chính")],
            ),
        ],
    ),
    (
        "CTH",
        "Lưu thông hàng hóa trong nước",
        [
            (
                "Cấp Giấy phép bán lẻ sản phẩm rượu",
                "10 ngày làm việc",
                10,
                "1.200.000 đồng",
                3,
                [
                    ("Đơn đề nghị cấp Giấy phép bán lẻ rượu", 1, "bản chính"),
                    ("Giấy chứng nhận đăng ký hộ kinh doanh", 1, "bản sao"),
                ],
            ),
            (
                "Cấp Giấy phép bán lẻ sản phẩm thuốc lá",
                "10 ngày làm việc",
                10,
                "1.100.000 đồng",
                3,
                [("Đơn đề nghị cấp Giấy phép bán lẻ thuốc lá", 1, "bản chính")],
            ),
            (
                "Cấp Giấy phép sản xuất rượu thủ công nhằm mục đích kinh doanh",
                "10 ngày làm việc",
                10,
                "600.000 đồng",
                3,
                [("Đơn đề nghị cấp Giấy phép sản xuất rượu thủ công", 1, "bản chính")],
            ),
        ],
    ),
    (
        "ATTP",
        "An toàn thực phẩm",
        [
            (
                "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
                "20 ngày làm việc",
                20,
                "500.000 đồng",
                3,
                [
                    ("Đơn đề nghị cấp Giấy chứng nhận", 1, "bản chính"),
                    ("Bản thuyết minh về cơ sở vật chất, trang thiết bị", 1, "bản chính"),
                    ("Giấy xác nhận đã được tập huấn kiến thức an toàn thực phẩm", 1, "bản sao"),
                ],
            ),
        ],
    ),
    (
        "MT",
        "Môi trường",
        [
            (
                "Đăng ký môi trường",
                "05 ngày làm việc",
                5,
                "Miễn lệ phí",
                3,
                [("Văn bản đăng ký môi trường", 1, "bản chính")],
            ),
            (
                "Cấp giấy phép môi trường cấp huyện",
                "30 ngày",
                30,
                "Theo quy định của HĐND tỉnh",
                2,
                [
                    ("Văn bản đề nghị cấp giấy phép môi trường", 1, "bản chính"),
                    ("Báo cáo đề xuất cấp giấy phép môi trường", 1, "bản chính"),
                ],
            ),
        ],
    ),
    (
        "TG",
        "Tín ngưỡng, tôn giáo",
        [
            (
                "Đăng ký hoạt động tín ngưỡng",
                "15 ngày",
                15,
                "Miễn lệ phí",
                2,
                [("Văn bản đăng ký hoạt động tín ngưỡng", 1, "bản chính")],
            ),
            (
                "Thông báo tổ chức quyên góp ngoài địa bàn một xã",
                "15 ngày",
                15,
                "Miễn lệ phí",
                2,
                [("Văn bản thông báo tổ chức quyên góp", 1, "bản chính")],
            ),
        ],
    ),
    (
        "TDKT",
        "Thi đua, khen thưởng",
        [
            (
                "Tặng Giấy khen của Chủ tịch Ủy ban nhân dân cấp huyện về thành tích thực hiện nhiệm vụ",
                "20 ngày làm việc",
                20,
                "Miễn lệ phí",
                2,
                [("Tờ trình đề nghị khen thưởng", 1, "bản chính"), ("Báo cáo thành tích", 1, "bản chính")],
            ),
        ],
    ),
]

FAMILY_NAMES = (
    "Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Lê", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ",
    "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
)  # fmt: skip
MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Xuân", "Gia", "Hoàng", "Công")
MIDDLE_FEMALE = ("Thị", "Thị", "Ngọc", "Thanh", "Thu", "Bảo", "Minh", "Diệu", "Kim", "Mỹ")
GIVEN_MALE = (
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân", "Sơn",
    "Thắng", "Tuấn", "Việt", "Đạt", "Hiếu", "Trung", "Tâm", "Lộc",
)  # fmt: skip
GIVEN_FEMALE = (
    "Hà", "Hạnh", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo", "Trang", "Vy", "Yến",
    "Ánh", "Loan", "Nhung", "Oanh", "Tuyết", "Uyên", "Ngân", "Hằng",
)  # fmt: skip
PLACES = (
    "thị trấn Long Thành",
    "xã An Phước",
    "xã Long An",
    "xã Bình Sơn",
    "xã Long Phước",
    "xã Phước Bình",
    "xã Tam An",
    "xã Lộc An",
)
STATUSES = (
    "new", "receiving", "processing", "waiting", "paying", "releasing", "posting", "done",
    "cancelled", "denied", "correcting", "interoperating", "unresolved",
)  # fmt: skip
FINISHED = frozenset({"releasing", "posting", "done", "cancelled", "denied", "unresolved"})
# How often each status occurs after every status has appeared once.
STATUS_WEIGHTS = (4, 10, 30, 6, 3, 12, 2, 25, 2, 2, 2, 2, 1)
STEPS = {
    "new": ("100", "Chờ tiếp nhận"),
    "receiving": ("200", "Tiếp nhận hồ sơ"),
    "processing": ("300", "Thẩm định, xử lý hồ sơ"),
    "waiting": ("310", "Chờ công dân bổ sung giấy tờ"),
    "paying": ("320", "Chờ nộp phí, lệ phí"),
    "correcting": ("330", "Sửa đổi, bổ sung hồ sơ"),
    "interoperating": ("340", "Liên thông cơ quan khác"),
    "releasing": ("400", "Trả kết quả tại Bộ phận Một cửa"),
    "posting": ("410", "Chuyển trả qua bưu chính"),
    "done": ("500", "Hoàn thành"),
    "cancelled": ("600", "Công dân rút hồ sơ"),
    "denied": ("610", "Từ chối tiếp nhận, giải quyết"),
    "unresolved": ("620", "Dừng xử lý"),
}
STATUS_TEXT = {
    "new": "Mới đăng ký",
    "receiving": "Chờ xử lý",
    "processing": "Đang xử lý",
    "waiting": "Yêu cầu bổ sung giấy tờ",
    "paying": "Chờ nộp phí, lệ phí",
    "releasing": "Đã xử lý xong",
    "posting": "Chuyển trả bưu chính",
    "done": "Đã trả kết quả",
    "cancelled": "Đã rút hồ sơ",
    "denied": "Từ chối xử lý",
    "correcting": "Đang sửa đổi, bổ sung",
    "interoperating": "Đang liên thông",
    "unresolved": "Dừng xử lý",
}


@dataclass
class SimProcedure:
    code: str
    name: str
    field_code: str
    field_name: str
    agency: str
    level: int
    duration_text: str
    days: int
    fee: str
    papers: list[Paper]

    def to_opencps(self) -> dict[str, Any]:
        lines = [
            f"{name} ({count} {note})" if note else f"{name} ({count} bản)"
            for name, count, note in self.papers
        ]
        return {
            "serviceInfoId": zlib.crc32(self.code.encode()) % 10**8,
            "serviceCode": self.code,
            "serviceName": self.name,
            "domainCode": self.field_code,
            "domainName": self.field_name,
            "administrationCode": DISTRICT_AGENCY[0],
            "administrationName": self.agency,
            "maxLevel": self.level,
            "durationText": self.duration_text,
            "feeText": self.fee,
            "dossierText": "\n".join(lines),
        }

    def to_motcua(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "field_code": self.field_code,
            "field_name": self.field_name,
            "agency": self.agency,
            "level": self.level,
            "processing_time": self.duration_text,
            "fee": self.fee,
            "papers": [{"name": n, "count": c, "note": note or None} for n, c, note in self.papers],
        }


def procedures(extra: int = 0, seed: int = 1) -> list[SimProcedure]:
    """The catalogue; `extra` adds variants (per commune) to reach a provincial-size catalogue."""
    result: list[SimProcedure] = []
    for field_code, field_name, items in CATALOGUE:
        for number, (name, duration, days, fee, level, papers) in enumerate(items, start=1):
            result.append(
                SimProcedure(
                    f"{field_code}-{number:03d}",
                    name,
                    field_code,
                    field_name,
                    DISTRICT_AGENCY[1],
                    level,
                    duration,
                    days,
                    fee,
                    list(papers),
                )
            )
    rng = random.Random(seed)
    base = list(result)
    levels = ("cấp xã", "cấp huyện", "cấp tỉnh")
    for index in range(extra):
        model = base[index % len(base)]
        where = levels[(index // len(base)) % len(levels)]
        result.append(
            SimProcedure(
                f"{model.code}-{index // len(base) + 1:03d}",
                f"{model.name} ({where}, thủ tục {index + 1})",
                model.field_code,
                model.field_name,
                rng.choice(COMMUNE_AGENCIES)[1] if where == "cấp xã" else model.agency,
                model.level,
                model.duration_text,
                model.days,
                model.fee,
                list(model.papers),
            )
        )
    return result


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days after `start` (Mon–Fri; same day at 16:30 when 0)."""
    moment = start
    left = days
    while left > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            left -= 1
    if days == 0:
        return moment.replace(hour=16, minute=30, second=0)
    return moment.replace(hour=start.hour, minute=0, second=0)


def _working_moment(rng: random.Random, day: date) -> datetime:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    minutes = rng.choice((rng.randint(7 * 60 + 30, 11 * 60 + 20), rng.randint(13 * 60, 16 * 60 + 50)))
    return datetime.combine(day, time(minutes // 60, minutes % 60, rng.randint(0, 59)), SITE_TZ)


def _later(rng: random.Random, after: datetime, around: datetime, now: datetime) -> datetime:
    """A working-hours moment on `around`'s day, after `after`, not in the future."""
    moment = _working_moment(rng, around.date())
    return min(now, max(moment, after + timedelta(minutes=rng.randint(10, 90))))


def person(rng: random.Random) -> tuple[str, str, str, str]:
    """(name, 12-digit ID number, address, phone) of an invented person."""
    female = rng.random() < 0.5
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    name = f"{rng.choice(FAMILY_NAMES)} {middle} {given}"
    year = rng.randint(1950, 2004)
    century_sex = (0 if year < 2000 else 2) + (1 if female else 0)
    id_no = f"075{century_sex}{year % 100:02d}{rng.randint(0, 999999):06d}"
    address = f"Ấp {rng.randint(1, 9)}, {rng.choice(PLACES)}, huyện Long Thành, tỉnh Đồng Nai"
    phone = f"0{rng.choice((9, 8, 3, 7))}{rng.randint(10_000_000, 99_999_999)}"
    return name, id_no, address, phone


def dossiers(
    catalogue: list[SimProcedure], *, count: int = 240, seed: int = 1, today: datetime | None = None
) -> list[dict[str, Any]]:
    """`count` dossiers in OpenCPS's shape, every status present, received over the last 45 days."""
    rng = random.Random(seed)
    now = today or datetime.now(SITE_TZ)
    sequences: dict[tuple[str, date], int] = {}
    rows: list[dict[str, Any]] = []
    for index in range(count):
        status = STATUSES[index] if index < len(STATUSES) else rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        procedure = rng.choice(catalogue)
        agency_code, agency_name = (
            rng.choice(COMMUNE_AGENCIES) if procedure.field_code in ("HT", "CT") else DISTRICT_AGENCY
        )
        if status in FINISHED:
            age = rng.randint(0, 45)
        elif status == "new":
            age = rng.choice((0, 0, 1, 2))
        else:  # work in progress is mostly recent; one in five has been waiting too long
            age = rng.randint(12, 40) if rng.random() < 0.2 else rng.randint(0, 6)
        received = _working_moment(rng, (now - timedelta(days=age)).date())
        if received > now:
            received = now - timedelta(minutes=rng.randint(5, 120))
        key = (agency_code, received.date())
        sequences[key] = sequences.get(key, 0) + rng.randint(1, 4)
        stamp = received.strftime("%y%m%d")
        sequence = sequences[key]
        style = rng.random()
        if style < 0.1:  # OpenCPS per-procedure code
            prefix = procedure.code.replace("-", "")
            dossier_no = f"{prefix}.{stamp}.{sequence:05d}"
        elif style < 0.2:  # a TT 01/2018 code written OpenCPS-style with dots only
            dossier_no = f"{agency_code}.{stamp}.{sequence:04d}"
        else:
            dossier_no = f"{agency_code}-{stamp}-{sequence:04d}"
        due = add_working_days(received, procedure.days)
        name, id_no, address, phone = person(rng)
        release = finish = None
        if status in ("releasing", "posting", "done"):
            release = _later(rng, received, received + (due - received) * rng.uniform(0.3, 1.1), now)
            if release >= now - timedelta(minutes=1):
                # Clamped to "now": say central finished it some time in the last three days instead
                # (derived from the code, so the seeded random stream stays the same).
                back = timedelta(minutes=30 + zlib.crc32(dossier_no.encode()) % (3 * 24 * 60))
                release = max(received + timedelta(minutes=10), now - back)
            if status == "done":
                finish = _later(rng, release, release + timedelta(days=rng.randint(0, 3)), now)
        elif status in ("cancelled", "denied", "unresolved"):
            finish = _later(rng, received, received + timedelta(days=rng.randint(0, 5)), now)
        step_code, step_name = STEPS[status]
        rows.append(
            {
                "dossierId": 100_000 + index,
                "dossierNo": dossier_no,
                "serviceCode": procedure.code,
                "serviceName": procedure.name,
                "govAgencyCode": agency_code,
                "govAgencyName": agency_name,
                "applicantName": name,
                "applicantIdNo": id_no,
                "address": address,
                "contactTelNo": phone,
                "submitDate": format_opencps_time(received - timedelta(minutes=rng.randint(0, 30))),
                "receiveDate": None if status == "new" else format_opencps_time(received),
                "dueDate": None if status == "new" else format_opencps_time(due),
                "releaseDate": format_opencps_time(release) if release else None,
                "finishDate": format_opencps_time(finish) if finish else None,
                "dossierStatus": status,
                "dossierStatusText": STATUS_TEXT[status],
                "stepCode": step_code,
                "stepName": step_name,
                "online": status == "new" or rng.random() < 0.3,
                "viaPostal": status == "posting",
                "secretCode": f"{rng.randint(0, 999999):06d}",
            }
        )
    return rows
