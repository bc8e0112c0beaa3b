"""Demo cases of the demo county, at different stages, so that the workbench, the case pages,
the committee's page and the archive have something to show.

Everything is idempotent: each application has a fixed idempotency key (a second run finds the
first case), and each action is taken only while its step is still ready, so running this again
changes nothing and a half-seeded county is completed where it stopped. Every action goes
through the engine (``tongban.cases.service``) as the demo user who would take it.

All names, codes and numbers are FICTIONAL; ID numbers and USCCs carry valid check characters
computed with ``tongban.kit.ids`` and use the demo province's 99 prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.auth import repository as auth_repository
from tongban.auth.principal import Principal
from tongban.auth.service import load_principal
from tongban.cases import archive, service
from tongban.cases.models import Case, CaseStatus, CaseStep, StepStatus, Upload, Vote
from tongban.cases.schemas import ApplicantIn, ApplicationIn
from tongban.db import utcnow
from tongban.kit.ids import resident_id_check_char, uscc_check_char


def resident_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def tiny_pdf(title: str) -> bytes:
    """A small, valid one-page PDF with one line of (ASCII) text: demo materials."""
    text = title.encode("ascii", "replace").replace(b"(", b"[").replace(b")", b"]")
    content = b"BT /F1 14 Tf 72 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# ---------------------------------------------------------------- the applicants

HANDOVER_CLIENT = uscc("91990123MA1QX0302")
RENOVATION_A = uscc("91990123MA1JX0101")
RENOVATION_B = uscc("91990123MA2JX0102")
RENOVATION_C = uscc("91990123MA3JX0103")
BUYER_ID = resident_id("99012319900315002")
SELLER_ID = resident_id("99012319781102003")


def handover_application(key: str = "demo-2026-handover-0302-a") -> ApplicationIn:
    return ApplicationIn(
        item="QX-ZJJ-0302",
        applicant=ApplicantIn(
            name="青溪城市建设投资有限公司",
            id_no=HANDOVER_CLIENT,
            phone="13905710302",
            jurisdiction="990123003",
        ),
        form={
            "DE.PROJECT_NAME": "滨江路（江景段）道路及排水管网工程",
            "DE.PROJECT_CODE": "2025-990123-48-01-012345",
            "DE.PROJECT_LOCATION": "青溪县滨江街道滨江路江景段",
            "DE.ENTERPRISE_NAME": "青溪城市建设投资有限公司",
            "DE.USCC": HANDOVER_CLIENT,
            "DE.CONTRACTOR_NAME": "明江路桥建设集团有限公司",
            "DE.COMPLETION_DATE": "2025-11-20",
            "DE.CONTACT_NAME": "陈建国",
            "DE.PHONE": "13905710302",
            "DE.FACILITY_TYPE": "城市道路桥梁",
        },
        channel="online",
        idempotency_key=key,
    )


def renovation_application(
    key: str,
    *,
    name: str,
    code: str,
    village: str,
    invest_fen: int,
    tax_fen: int = 35_000_000,
    account: str = "6228480399010101",
) -> ApplicationIn:
    return ApplicationIn(
        item="QX-JXJ-0101",
        applicant=ApplicantIn(name=name, id_no=code, phone="13857110101", jurisdiction=village),
        form={
            "DE.ENTERPRISE_NAME": name,
            "DE.USCC": code,
            "DE.LEGAL_REP": "周振华",
            "DE.CONTACT_NAME": "周婷",
            "DE.PHONE": "13857110101",
            "DE.PROJECT_NAME": "数控加工生产线智能化技术改造项目",
            "DE.PROJECT_CODE": "2025-990123-34-03-000101",
            "DE.EQUIP_INVEST": invest_fen,
            "DE.TAX_PAID": tax_fen,
            "DE.INDUSTRIAL_OUTPUT": 2_600_000_000,
            "DE.BANK_NAME": "青溪农村商业银行白石支行",
            "DE.BANK_ACCOUNT": account,
        },
        channel="online",
        idempotency_key=key,
    )


def property_transfer_application(key: str = "demo-2026-property-transfer-a") -> ApplicationIn:
    return ApplicationIn(
        bundle="property-transfer",
        answers={"has_gas": "no", "has_tv": "no", "has_broadband": "no"},
        applicant=ApplicantIn(
            name="张晓梅", id_no=BUYER_ID, phone="13700990123", jurisdiction="990123001001"
        ),
        form={
            "DE.NAME": "张晓梅",
            "DE.ID_TYPE": "居民身份证",
            "DE.ID_NO": BUYER_ID,
            "DE.PHONE": "13700990123",
            "DE.ADDRESS": "青溪县城关街道南门社区解放路18号",
            "DE.MARITAL_STATUS": "已婚",
            "DE.TRANSFEROR_NAME": "李建华",
            "DE.TRANSFEROR_ID_NO": SELLER_ID,
            "DE.PROPERTY_ADDRESS": "青溪县城关街道南门社区解放路18号3幢2单元501室",
            "DE.PROPERTY_CERT_NO": "明(2019)青溪县不动产权第0012345号",
            "DE.PROPERTY_UNIT_NO": "990123001001GB00012F00030501",
            "DE.PROPERTY_AREA": "89.50",
            "DE.PROPERTY_USE": "住宅",
            "DE.CO_OWNERSHIP": "共同共有",
            "DE.TRANSFER_REASON": "买卖",
            "DE.TRANSFER_PRICE": 98_000_000,
            "DE.WATER_ACCOUNT_NO": "QXS0012345",
            "DE.POWER_ACCOUNT_NO": "3300123456",
            "DE.BANK_ACCOUNT": "6217000099010123",
        },
        channel="window",
        idempotency_key=key,
    )


# ---------------------------------------------------------------- acting as demo users


@dataclass
class Seeder:
    """Takes each action once, as the named demo user; notes the users that do not exist."""

    session: Session
    missing: set[str]

    def who(self, username: str) -> Principal | None:
        user = auth_repository.user_by_username(self.session, username)
        if user is None:
            self.missing.add(username)
            return None
        return load_principal(self.session, user)

    def step(self, case: Case, code: str) -> CaseStep | None:
        """The step if it may be acted on now (case in progress, step ready)."""
        self.session.refresh(case)
        found = self.session.scalars(
            select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.code == code)
        ).one()
        self.session.refresh(found)
        if case.status != CaseStatus.IN_PROGRESS.value or found.status != StepStatus.READY.value:
            return None
        return found

    def submit(self, application: ApplicationIn, username: str | None = None) -> Case:
        principal = self.who(username) if username else None
        return service.submit_application(
            session=self.session, principal=principal, application=application
        )

    def complete(
        self, case: Case, code: str, username: str, outcome: dict[str, Any] | None = None
    ) -> bool:
        step, principal = self.step(case, code), self.who(username)
        if step is None or principal is None:
            return False
        service.complete_step(
            session=self.session,
            principal=principal,
            step_id=step.id,
            lock_version=step.lock_version,
            outcome=outcome,
        )
        return True

    def upload(
        self, case: Case, username: str, purpose: str, filename: str, code: str | None = None
    ) -> None:
        data = tiny_pdf(f"{case.subject_code} {purpose} {filename}")
        done = self.session.scalar(
            select(Upload.id).where(Upload.case_id == case.id, Upload.purpose == purpose)
        )
        principal = self.who(username)
        if done is not None or principal is None:
            return
        step_id = None
        if code is not None:
            step_id = self.session.scalar(
                select(CaseStep.id).where(CaseStep.case_id == case.id, CaseStep.code == code)
            )
        service.upload(
            session=self.session,
            principal=principal,
            number=case.number,
            attachment=service.Attachment(purpose, filename, "application/pdf", data),
            step_id=step_id,
        )

    def vote(self, case: Case, code: str, username: str, choice: str) -> None:
        step, principal = self.step(case, code), self.who(username)
        if step is None or principal is None:
            return
        voted = self.session.scalar(
            select(Vote.id).where(Vote.step_id == step.id, Vote.user_id == principal.user_id)
        )
        if voted is None:
            service.vote(session=self.session, principal=principal, step_id=step.id, choice=choice)

    def decide(self, case: Case, code: str, username: str) -> None:
        step, principal = self.step(case, code), self.who(username)
        if step is not None and principal is not None:
            service.close_decision(
                session=self.session,
                principal=principal,
                step_id=step.id,
                lock_version=step.lock_version,
                reasons="演示：委员会审议后同意。Demo: agreed after the committee's deliberation.",
            )

    def pay(self, case: Case, code: str, username: str) -> None:
        step, principal = self.step(case, code), self.who(username)
        if step is not None and principal is not None:
            service.pay(
                session=self.session,
                principal=principal,
                step_id=step.id,
                lock_version=step.lock_version,
            )

    def seal(self, case: Case, username: str) -> None:
        self.session.refresh(case)
        principal = self.who(username)
        if principal is not None and case.status in archive.FINISHED:
            archive.seal_case(session=self.session, principal=principal, number=case.number)


def _onsite(place: str) -> dict[str, str]:
    """The township's visit, recorded as it happens (Beijing time), at the firm's workshop."""
    now = utcnow().astimezone(ZoneInfo("Asia/Shanghai"))
    return {
        "time": now.strftime("%Y-%m-%d %H:%M"),
        "place": place,
        "notes": "新购数控设备已安装投产，与发票清单一致；现场照片已留存。",
    }


def _renovation_through_review(seed: Seeder, case: Case, place: str) -> None:
    seed.complete(case, "QX-JXJ-0101#S1", "officer.jxj")  # the automatic check runs on its own
    seed.complete(case, "QX-JXJ-0101#S3", "township.t101", _onsite(place))
    seed.complete(case, "QX-JXJ-0101#S4", "officer.jxj", {"opinion": "材料齐全，符合奖补条件"})


@dataclass(frozen=True)
class SeedReport:
    numbers: dict[str, str]
    missing_users: list[str]


def seed_demo_cases(session: Session) -> SeedReport:
    """The demo county's cases; idempotent. Needs the organisation, catalogue and bundles."""
    seed = Seeder(session, set())
    numbers: dict[str, str] = {}

    # 1. Infrastructure handover: documents uploaded, accepted and reviewed; the joint on-site
    #    verification waits in officer.zjj's workbench.
    handover = seed.submit(handover_application())
    for purpose, filename in (
        ("M-DOCS", "竣工图及隐蔽工程记录.pdf"),
        ("M-LIST", "移交资产清单.pdf"),
        ("M-AUDIT", "工程结算审计报告.pdf"),
    ):
        seed.upload(handover, "frontdesk", purpose, filename)
    seed.complete(handover, "QX-ZJJ-0302#S1", "frontdesk")
    seed.complete(handover, "QX-ZJJ-0302#S2", "officer.zjj", {"opinion": "竣工资料齐全"})
    numbers["handover"] = handover.number

    # 2. Technical-renovation award waiting for the party group's collective decision (minutes
    #    attached, nobody has voted yet).
    open_award = seed.submit(
        renovation_application(
            "demo-2026-renovation-0101-a",
            name="青溪精工机械有限公司",
            code=RENOVATION_A,
            village="990123101201",
            invest_fen=680_000_000,
        )
    )
    _renovation_through_review(seed, open_award, "白石镇上塘村 青溪精工机械有限公司生产车间")
    seed.upload(open_award, "committee.jxj", "minutes", "局党组会议纪要.pdf", "QX-JXJ-0101#S5")
    numbers["renovation_at_committee"] = open_award.number

    # 3. The same item all the way: decided, announced, paid once, and sealed into the archive.
    paid = seed.submit(
        renovation_application(
            "demo-2026-renovation-0101-b",
            name="明江新材料科技有限公司",
            code=RENOVATION_B,
            village="990123101202",
            invest_fen=1_250_000_000,
            account="6228480399010102",
        )
    )
    _renovation_through_review(seed, paid, "白石镇石桥村 明江新材料科技有限公司新材料车间")
    seed.upload(paid, "committee.jxj", "minutes", "局党组会议纪要（第3次）.pdf", "QX-JXJ-0101#S5")
    seed.vote(paid, "QX-JXJ-0101#S5", "committee.jxj", "approve")
    seed.vote(paid, "QX-JXJ-0101#S5", "committee.jxj2", "approve")
    seed.decide(paid, "QX-JXJ-0101#S5", "committee.jxj")
    seed.complete(paid, "QX-JXJ-0101#S6", "officer.jxj", {"notice": "公示5个工作日无异议"})
    seed.pay(paid, "QX-JXJ-0101#S7", "officer.czj")
    seed.seal(paid, "officer.jxj")
    numbers["renovation_paid_and_archived"] = paid.number

    # 4. An application whose equipment investment is below the threshold: the automatic check
    #    fails and the case is suspended for corrections (补正).
    short = seed.submit(
        renovation_application(
            "demo-2026-renovation-0101-c",
            name="青溪恒达五金制品厂",
            code=RENOVATION_C,
            village="990123101001",
            invest_fen=320_000_000,
            account="6228480399010103",
        )
    )
    seed.complete(short, "QX-JXJ-0101#S1", "officer.jxj")
    numbers["renovation_suspended"] = short.number

    # 5. Property transfer as one thing: accepted once at the window, the contract filed; the tax
    #    bureau's review is next.
    transfer = seed.submit(property_transfer_application(), "frontdesk")
    seed.complete(transfer, "BUNDLE#acceptance", "frontdesk")
    seed.complete(transfer, "QX-ZJJ-0201#S2", "officer.zjj", {"opinion": "房源无查封、无抵押"})
    seed.complete(
        transfer,
        "QX-ZJJ-0201#S3",
        "officer.zjj",
        {"produced": {"DE.CONTRACT_NO": "QXWQ2026000123"}},  # the filing issues the number
    )
    numbers["property_transfer"] = transfer.number
    session.flush()
    return SeedReport(numbers, sorted(seed.missing))
