"""Titles and texts of the error pages (zh/en), registered with :mod:`web.i18n`.

``error.title.<status>`` heads the page; ``error.text.<status>`` is shown when the error
carries no message code of its own (e.g. an unknown URL or a wrong method).
"""

from __future__ import annotations

ERROR_MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "error.title.400": "请求有误", "error.text.400": "请求的参数无效。",
        "error.title.401": "需要登录", "error.text.401": "请先登录。",
        "error.title.403": "无权访问", "error.text.403": "您没有访问此页面的权限。",
        "error.title.404": "页面不存在", "error.text.404": "找不到该页面，地址可能有误或页面已移除。",
        "error.title.405": "不支持的操作", "error.text.405": "此地址不支持该请求方法。",
        "error.title.409": "操作冲突", "error.text.409": "数据已被修改，请刷新后重试。",
        "error.title.413": "内容过大", "error.text.413": "上传的内容超过了允许的大小。",
        "error.title.429": "请求过多", "error.text.429": "请求过于频繁，请稍后再试。",
        "error.title.500": "系统错误", "error.text.500": "服务器内部错误，请稍后再试。",
        "error.title.503": "服务暂不可用", "error.text.503": "服务暂不可用，请稍后再试。",
        "error.title.other": "出错了", "error.text.other": "请求未能完成。",
    },
    "en": {
        "error.title.400": "Bad request", "error.text.400": "The request's parameters are invalid.",
        "error.title.401": "Login required", "error.text.401": "Please log in first.",
        "error.title.403": "Forbidden", "error.text.403": "You may not open this page.",
        "error.title.404": "Page not found",
        "error.text.404": "There is no page at this address; it may be mistyped or removed.",
        "error.title.405": "Method not allowed",
        "error.text.405": "This address does not accept this request method.",
        "error.title.409": "Conflict", "error.text.409": "The data changed; reload and try again.",
        "error.title.413": "Too large", "error.text.413": "The upload is larger than allowed.",
        "error.title.429": "Too many requests", "error.text.429": "Too many requests; try later.",
        "error.title.500": "Internal error",
        "error.text.500": "Something went wrong on the server; please try again later.",
        "error.title.503": "Service unavailable",
        "error.text.503": "The service is unavailable for now; please try again later.",
        "error.title.other": "Error", "error.text.other": "The request could not be completed.",
    },
}
