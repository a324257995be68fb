from meshcast.cli import main

raise SystemExit(main())
