from reseaux.cli import main

raise SystemExit(main())
