"""The command line as the tests run it: `tiss-gateway ARGS...` through gateway.cli.main."""

from gateway.cli import main


class Cli:
    """Runs the command line in this process: exit status, stdout, stderr."""

    def __init__(self, capsys) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refuses the command line, or gunicorn's own check
            code = exc.code
        out, err = self.capsys.readouterr()
        return code, out, err
