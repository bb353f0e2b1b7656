"""Build hook: the notebooks ship inside the package, so a wheel carries them (exlab.report.notebooks_dir).

The notebooks stay in ``notebooks/`` at the top of the repository, where JupyterLab users
open them; a build copies them to ``exlab/notebooks/`` in the wheel (an editable install
reads them where they are). Everything else is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithNotebooks(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "exlab" / "notebooks"
        self.mkpath(str(target))
        for notebook in sorted(Path(__file__).parent.joinpath("notebooks").glob("*.ipynb")):
            self.copy_file(str(notebook), str(target / notebook.name))


setup(cmdclass={"build_py": BuildWithNotebooks})
