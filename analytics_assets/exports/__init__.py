"""Exports of warehouse tables to files people open by hand (Excel)."""

from analytics_assets.exports.excel import (
    EXCEL_MAX_ROWS,
    ExcelExport,
    ExportTooLarge,
    TableNotFound,
    export_table,
)

__all__ = ["EXCEL_MAX_ROWS", "ExcelExport", "ExportTooLarge", "TableNotFound", "export_table"]
