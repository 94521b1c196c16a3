"""meshctl's errors and the exit codes they map to."""

EXIT_OK = 0
EXIT_FAILURE = 1  # the server said no, or could not be reached
EXIT_USAGE = 2  # bad command line


class CliError(Exception):
    """An error reported to the user as `meshctl: error: <message>`."""

    exit_code = EXIT_FAILURE


class UsageError(CliError):
    """Bad arguments (exit 2); `usage` is the relevant usage line, if any."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class ConnectError(CliError):
    """meshd could not be reached (exit 1)."""


class ApiError(CliError):
    """meshd answered with an error status (exit 1); message is the server's own."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.server_message = message
